//! IP ranges, CIDR parsing and the interval index behind named locations (spec §2).
