"""The application: the command-line interface, its jobs, the demo and pictures."""
