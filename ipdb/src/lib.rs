//! IP → company resolution over MaxMind DB files.
