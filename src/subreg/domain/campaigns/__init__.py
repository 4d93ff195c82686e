"""Reminder campaigns: the cohort a reminder goes to, the schedule it keeps, the planned finish, the states."""
