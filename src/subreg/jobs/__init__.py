"""Long-running processes: the SMS service (`subreg sms serve`); later the daily job and the scheduler."""
