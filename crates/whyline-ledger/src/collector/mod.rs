//! In-memory and streaming collectors of decision traces.
