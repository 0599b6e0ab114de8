"""Notifications (通知): who is told what when a case concerns them, on which channel."""
