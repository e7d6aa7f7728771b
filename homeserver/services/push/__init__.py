"""Push notifications (spec v1.19 "Push Notifications")."""
