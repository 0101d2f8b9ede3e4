"""The Akool boundary: the only HTTP client for Akool's API (`client`), the errors a call can
end in (`errors`), the one decoder of Akool's job status into typed results
(`results.ImageResult`), and the webhook crypto (`webhook`). The protocol as implemented:
docs/akool-api.md."""
