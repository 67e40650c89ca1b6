"""The reference POS database and the gateway through which the service reads and writes a POS."""
