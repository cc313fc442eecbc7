"""`segbot demo`: a real service crash-looping on this machine, diagnosed and contained."""
