"""The Akool boundary: the only HTTP client for Akool's API (`client`), the webhook crypto
(`webhook`), and the one decoder of Akool's job status into typed results
(`client.ImageResult`). The protocol as implemented: docs/akool-api.md."""
