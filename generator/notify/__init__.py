"""Notifications: what happened (events.py) becomes one delivery per channel or person, sent by
a queued task (tasks.py) through the right carrier (send.py), retried with back-off, and logged.
"""
