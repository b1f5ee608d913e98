//! KernelSHAP
