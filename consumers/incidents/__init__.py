"""The incident detector: a faust worker that links mass complaints to one incident."""
