"""The local stack: moto server, the gateway simulator, and the local run command."""
