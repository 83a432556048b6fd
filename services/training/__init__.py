"""The training service (干部教育培训): classes, sessions, attendance, credit hours."""
