"""SLA certificates: many runs' evidence judged over every fault, as one verifiable document."""
