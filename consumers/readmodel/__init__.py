"""The read model's query contract (`queries`) and its stores: the in-memory one the gateway
has always had (`consumers.gateway.readmodel.ReadModel`) and the relational one."""
