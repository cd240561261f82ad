"""Push delivery: the ticks that find who is due, the deliveries and their claims, the FCM transport."""
