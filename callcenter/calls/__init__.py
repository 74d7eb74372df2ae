"""Call flows over an AGI session: the shell around the pure IVR and (later) ACD cores."""
