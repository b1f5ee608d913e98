//! LinearSHAP
