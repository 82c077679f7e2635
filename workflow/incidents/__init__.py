"""Mass-complaint incidents: the pure linker that groups complaints about one incident."""
