"""The imperative shell on Kafka: the faust engine worker, the event relay, topics, CLI."""
