//! IP ranges, CIDR parsing and the interval index behind named locations
//! (docs/reference/entra-semantics.md §2).
//!
//! * [`Cidr`] / [`parse_cidr`]: one `ipRanges[].cidrAddress` value of an `ipNamedLocation`
//!   (docs/reference/entra-semantics.md §2.1). Host bits are masked, IPv4-mapped IPv6 ranges become
//!   IPv4 ranges.
//! * [`parse_ip`] / [`normalize_ip`]: the sign-in's public egress address
//!   (docs/reference/entra-semantics.md §2.2).
//! * [`LocationSet`]: a fixed-size bitset of named-location indices (`0..`[`MAX_LOCATIONS`]).
//! * [`IpIndexBuilder`] / [`IpIndex`]: every range of every IP location compiled into sorted
//!   disjoint intervals, so that "which locations contain this address" (the `ip` arm of
//!   `in_location`, docs/reference/entra-semantics.md §2.3) is one binary search with no
//!   allocation.
//!
//! IPv4 and IPv6 are separate address families: an IPv4 address (including an IPv4-mapped
//! IPv6 address, which is normalised to IPv4 first) is never inside an IPv6 range and vice
//! versa.

mod cidr;
mod index;
mod set;

pub use cidr::{
    Cidr, CidrError, CidrErrorKind, IpError, IpErrorKind, MIN_PREFIX_LEN_EXCLUSIVE, normalize_ip,
    parse_cidr, parse_ip,
};
pub use index::{IpIndex, IpIndexBuilder};
pub use set::{LocationSet, LocationSetIter, MAX_LOCATIONS};
