"""smsdrop: the operator's command line (status, jobs, cancel, pause, resume, export). Operator-side only: it is never
in the Lambda layer; it drives jobs through the layer's own store code (smsdrop.store)."""
