"""Everything that speaks the provider's HTTP API: session, signing, codes, credentials, clients."""
