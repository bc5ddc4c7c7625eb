"""Analysis of synapse sizes: distribution fits, reference data, precision, dynamics, figures."""
