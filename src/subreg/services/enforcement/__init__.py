"""Enforcement: notices, one-way and two-way locks, termination and restoration, pushed to the network."""
