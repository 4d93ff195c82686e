"""Reminder campaigns: create, preview, start, pause, resume, status; the worker's tick queues each wave."""
