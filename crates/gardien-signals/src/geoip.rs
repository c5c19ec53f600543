//! Country, coordinates and anonymous-network flags of an address, from MaxMind DB files
//! (docs/reference/entra-semantics.md §2.2): GeoIP2 / GeoLite2 Country or City, the GeoIP2
//! Anonymous-IP database, and flat `{"country_code": "FR"}` databases such as ip-location-db's.
//!
//! * A database is verified when opened ([`maxminddb::Reader::verify`]): a corrupt file is
//!   refused with its path and the reason, never half-used.
//! * [`GeoDatabase::reload_if_changed`] re-reads the file when its size or modification
//!   time changed; on error the previous reader stays in force (hot reload, fail safe).
//! * An address with no record has an unknown country (Entra's "unknown countries and
//!   regions"); a lookup that fails on bad data is an error the caller records, never a
//!   silent unknown.
//! * IPv4-mapped IPv6 addresses are normalised before the lookup (some databases do not
//!   alias `::ffff:0:0/96`).

use arc_swap::ArcSwap;
use gardien_core::network::normalize_ip;
use maxminddb::Reader;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A database that could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct GeoIpError {
    /// The database file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// What a country or city database says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Place {
    /// ISO 3166-1 alpha-2 country (upper case); `None` when the address maps to no country.
    pub country: Option<[u8; 2]>,
    /// Latitude and longitude (City databases), for impossible-travel checks.
    pub coordinates: Option<(f64, f64)>,
}

/// What an Anonymous-IP database says about an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnonymousFlags {
    /// Any kind of anonymiser.
    pub anonymous: bool,
    /// A VPN provider's address.
    pub vpn: bool,
    /// A hosting or cloud provider.
    pub hosting: bool,
    /// A public proxy.
    pub public_proxy: bool,
    /// A residential proxy.
    pub residential_proxy: bool,
    /// A Tor exit node.
    pub tor: bool,
}

impl AnonymousFlags {
    /// Whether any flag is set: the sign-in then comes from an anonymous network.
    pub fn any(self) -> bool {
        self.anonymous
            || self.vpn
            || self.hosting
            || self.public_proxy
            || self.residential_proxy
            || self.tor
    }

    /// The flags set, by name (`vpn`, `hosting`, `publicProxy`, `residentialProxy`, `tor`,
    /// `anonymous`), for traces and logs.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (self.vpn, "vpn"),
            (self.tor, "tor"),
            (self.public_proxy, "publicProxy"),
            (self.residential_proxy, "residentialProxy"),
            (self.hosting, "hosting"),
            (self.anonymous, "anonymous"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
    }
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// GeoIP2 (`country.iso_code`, `registered_country.iso_code`, `location`) and flat
/// (`country_code`) schemas at once.
#[derive(Deserialize)]
struct PlaceRecord<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    registered_country: Option<IsoCode<'a>>,
    #[serde(borrow)]
    country_code: Option<&'a str>,
    location: Option<Location>,
}

#[derive(Deserialize, Default)]
struct AnonymousRecord {
    #[serde(default)]
    is_anonymous: bool,
    #[serde(default)]
    is_anonymous_vpn: bool,
    #[serde(default)]
    is_hosting_provider: bool,
    #[serde(default)]
    is_public_proxy: bool,
    #[serde(default)]
    is_residential_proxy: bool,
    #[serde(default)]
    is_tor_exit_node: bool,
}

fn country_code(text: &str) -> Option<[u8; 2]> {
    match text.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
        }
        _ => None,
    }
}

/// Size and modification time: what tells a replaced file.
type Stamp = (u64, Option<SystemTime>);

fn stamp(path: &Path) -> Result<Stamp, std::io::Error> {
    let m = std::fs::metadata(path)?;
    Ok((m.len(), m.modified().ok()))
}

/// Walks the whole search tree and decodes every record once.
fn decode_every_record(reader: &Reader<Vec<u8>>) -> Result<(), maxminddb::MaxMindDbError> {
    for network in reader.networks(maxminddb::WithinOptions::default())? {
        network?.decode::<serde::de::IgnoredAny>()?;
    }
    Ok(())
}

/// One MaxMind DB file, swappable while lookups run.
pub struct GeoDatabase {
    path: PathBuf,
    reader: ArcSwap<Reader<Vec<u8>>>,
    stamp: Mutex<Stamp>,
}

impl std::fmt::Debug for GeoDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDatabase")
            .field("path", &self.path)
            .field("type", &self.reader.load().metadata().database_type)
            .finish()
    }
}

impl GeoDatabase {
    /// Opens and verifies a database file.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, GeoIpError> {
        let path = path.into();
        let (reader, stamp) = Self::read(&path)?;
        Ok(GeoDatabase {
            path,
            reader: ArcSwap::from_pointee(reader),
            stamp: Mutex::new(stamp),
        })
    }

    fn read(path: &Path) -> Result<(Reader<Vec<u8>>, Stamp), GeoIpError> {
        let error = |reason: String| GeoIpError {
            path: path.display().to_string(),
            reason,
        };
        let stamp = stamp(path).map_err(|e| error(e.to_string()))?;
        let reader = Reader::open_readfile(path)
            .map_err(|e| error(format!("not a valid MaxMind DB file: {e}")))?;
        match reader.verify() {
            Ok(()) => {}
            // Some real databases (ip-location-db's) ship an empty description map, which
            // the strict metadata check refuses before it looks at the data. The data is what
            // matters: decode every record instead.
            Err(e) if e.to_string().contains("description - Expected") => {
                decode_every_record(&reader)
                    .map_err(|e| error(format!("database fails verification: {e}")))?;
            }
            Err(e) => return Err(error(format!("database fails verification: {e}"))),
        }
        Ok((reader, stamp))
    }

    /// The file this database was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database type from its metadata (e.g. `GeoIP2-Country`).
    pub fn database_type(&self) -> String {
        self.reader.load().metadata().database_type.clone()
    }

    /// Re-reads the file if its size or modification time changed. `Ok(true)` when a new
    /// version is now in force; on error the previous one stays in force.
    pub fn reload_if_changed(&self) -> Result<bool, GeoIpError> {
        let Ok(mut current) = self.stamp.lock() else {
            return Err(GeoIpError {
                path: self.path.display().to_string(),
                reason: "reload lock poisoned".to_owned(),
            });
        };
        let now = stamp(&self.path).map_err(|e| GeoIpError {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        if now == *current {
            return Ok(false);
        }
        let (reader, stamp) = Self::read(&self.path)?;
        self.reader.store(Arc::new(reader));
        *current = stamp;
        Ok(true)
    }

    fn lookup_error(&self, ip: IpAddr, e: maxminddb::MaxMindDbError) -> GeoIpError {
        GeoIpError {
            path: self.path.display().to_string(),
            reason: format!("lookup of {ip} failed: {e}"),
        }
    }

    /// Country and coordinates of `ip`. `Ok` with no country when the database has no
    /// record for it.
    pub fn place(&self, ip: IpAddr) -> Result<Place, GeoIpError> {
        let ip = normalize_ip(ip);
        let reader = self.reader.load();
        let found = reader.lookup(ip).map_err(|e| self.lookup_error(ip, e))?;
        let Some(record) = found
            .decode::<PlaceRecord<'_>>()
            .map_err(|e| self.lookup_error(ip, e))?
        else {
            return Ok(Place::default());
        };
        let iso = |c: Option<IsoCode<'_>>| c.and_then(|c| c.iso_code).and_then(country_code);
        let country = iso(record.country)
            .or_else(|| record.country_code.and_then(country_code))
            .or_else(|| iso(record.registered_country));
        let coordinates = record
            .location
            .and_then(|l| Some((l.latitude?, l.longitude?)));
        Ok(Place {
            country,
            coordinates,
        })
    }

    /// Anonymous-network flags of `ip` (all false when the database has no record).
    pub fn anonymous(&self, ip: IpAddr) -> Result<AnonymousFlags, GeoIpError> {
        let ip = normalize_ip(ip);
        let reader = self.reader.load();
        let found = reader.lookup(ip).map_err(|e| self.lookup_error(ip, e))?;
        let r = found
            .decode::<AnonymousRecord>()
            .map_err(|e| self.lookup_error(ip, e))?
            .unwrap_or_default();
        Ok(AnonymousFlags {
            anonymous: r.is_anonymous,
            vpn: r.is_anonymous_vpn,
            hosting: r.is_hosting_provider,
            public_proxy: r.is_public_proxy,
            residential_proxy: r.is_residential_proxy,
            tor: r.is_tor_exit_node,
        })
    }
}

/// The configured databases: a country/city one and an optional anonymous-IP one.
#[derive(Debug, Default)]
pub struct GeoIp {
    /// Country or City database.
    pub places: Option<GeoDatabase>,
    /// Anonymous-IP database.
    pub anonymous: Option<GeoDatabase>,
}

impl GeoIp {
    /// Opens the configured files.
    pub fn open(places: Option<&Path>, anonymous: Option<&Path>) -> Result<Self, GeoIpError> {
        Ok(GeoIp {
            places: places.map(GeoDatabase::open).transpose()?,
            anonymous: anonymous.map(GeoDatabase::open).transpose()?,
        })
    }

    /// Reloads whichever file changed; returns the errors (old readers stay in force).
    pub fn reload_if_changed(&self) -> Vec<GeoIpError> {
        [&self.places, &self.anonymous]
            .into_iter()
            .flatten()
            .filter_map(|d| d.reload_if_changed().err())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;

    fn corpus() -> Option<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/geoip");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!("skipped: corpus folder {} absent", dir.display());
            None
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn country(db: &GeoDatabase, address: &str) -> Option<String> {
        let place = db.place(ip(address));
        assert!(place.is_ok(), "{address}: {place:?}");
        place
            .ok()
            .and_then(|p| p.country)
            .map(|c| String::from_utf8_lossy(&c).into_owned())
    }

    #[test]
    fn countries_of_known_addresses() {
        let Some(dir) = corpus() else { return };
        for file in ["GeoIP2-Country-Test.mmdb", "GeoIP2-City-Test.mmdb"] {
            let db = GeoDatabase::open(dir.join(file));
            assert!(db.is_ok(), "{db:?}");
            let Ok(db) = db else { return };
            // Facts from SOURCE.md (checked with MaxMind's Python reader).
            for (address, expected) in [
                ("81.2.69.160", Some("GB")),
                ("2.125.160.216", Some("GB")),
                ("89.160.20.112", Some("SE")),
                ("216.160.83.56", Some("US")),
                ("2001:218::1", Some("JP")),
                ("175.16.199.0", Some("CN")),
                ("::ffff:81.2.69.160", Some("GB")),
                ("1.2.3.4", None),
            ] {
                assert_eq!(
                    country(&db, address).as_deref(),
                    expected,
                    "{file} {address}"
                );
            }
        }
    }

    #[test]
    fn military_represented_country_uses_the_country() {
        let Some(dir) = corpus() else { return };
        let Ok(db) = GeoDatabase::open(dir.join("GeoIP2-Country-Test.mmdb")) else {
            panic!("open")
        };
        assert_eq!(country(&db, "202.196.224.0").as_deref(), Some("PH"));
        assert_eq!(country(&db, "67.43.156.0").as_deref(), Some("BT"));
    }

    #[test]
    fn city_coordinates() {
        let Some(dir) = corpus() else { return };
        let Ok(db) = GeoDatabase::open(dir.join("GeoIP2-City-Test.mmdb")) else {
            panic!("open")
        };
        let london = db.place(ip("81.2.69.160")).ok().and_then(|p| p.coordinates);
        assert_eq!(london, Some((51.5142, -0.0931)));
        let linkoping = db
            .place(ip("89.160.20.112"))
            .ok()
            .and_then(|p| p.coordinates);
        assert_eq!(linkoping, Some((58.4167, 15.6167)));
    }

    #[test]
    fn anonymous_flags() {
        let Some(dir) = corpus() else { return };
        let Ok(db) = GeoDatabase::open(dir.join("GeoIP2-Anonymous-IP-Test.mmdb")) else {
            panic!("open")
        };
        let flags = |a: &str| db.anonymous(ip(a)).unwrap_or_default();
        let vpn = flags("1.2.0.1");
        assert!(vpn.anonymous && vpn.vpn && !vpn.tor);
        let tor = flags("65.0.0.1");
        assert!(tor.tor && !tor.vpn);
        assert!(flags("71.160.223.5").hosting);
        assert!(flags("186.30.236.9").public_proxy);
        assert!(flags("::1.2.0.1").vpn, "IPv4-compatible alias");
        assert!(!flags("8.8.8.8").any(), "empty record");
        assert!(!flags("9.9.9.9").any(), "no record");
        assert_eq!(
            flags("81.2.69.1").names().collect::<Vec<_>>(),
            [
                "vpn",
                "tor",
                "publicProxy",
                "residentialProxy",
                "hosting",
                "anonymous"
            ]
        );
    }

    #[test]
    fn flat_world_database() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/geoip-world/geo-whois-asn-country.mmdb");
        if !dir.is_file() {
            eprintln!("skipped: {} absent", dir.display());
            return;
        }
        let db = GeoDatabase::open(&dir);
        let Ok(db) = db else { panic!("{db:?}") };
        for (address, expected) in [
            ("81.2.69.160", Some("GB")),
            ("8.8.8.8", Some("US")),
            ("1.1.1.1", Some("AU")),
            ("193.51.24.1", Some("FR")),
            ("2a01:e0a::1", Some("FR")),
            ("10.0.0.1", None),
            ("::ffff:81.2.69.160", Some("GB")),
        ] {
            assert_eq!(country(&db, address).as_deref(), expected, "{address}");
        }
    }

    #[test]
    fn broken_databases_are_refused_with_the_path() {
        let Some(dir) = corpus() else { return };
        for file in [
            "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
            "GeoIP2-City-Test-Broken-Double-Format.mmdb",
        ] {
            let e = GeoDatabase::open(dir.join(file)).err();
            let message = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(file), "{file}: {message}");
        }
        // The fallback walk catches bad data too.
        let broken = Reader::open_readfile(dir.join("GeoIP2-City-Test-Broken-Double-Format.mmdb"));
        assert!(broken.is_ok_and(|r| decode_every_record(&r).is_err()));
        let e = GeoDatabase::open(dir.join("missing.mmdb")).err();
        assert!(e.is_some_and(|e| e.to_string().contains("missing.mmdb")));
    }

    #[test]
    fn hot_reload_keeps_the_old_reader_on_error() {
        let Some(dir) = corpus() else { return };
        let tmp = std::env::temp_dir().join(format!("gardien-geoip-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&tmp);
        let live = tmp.join("live.mmdb");
        let copy = |from: &str| std::fs::copy(dir.join(from), &live).map(|_| ());
        assert!(copy("GeoIP2-Country-Test.mmdb").is_ok());
        let Ok(db) = GeoDatabase::open(&live) else {
            panic!("open")
        };
        assert_eq!(db.reload_if_changed().ok(), Some(false), "unchanged file");
        // A corrupt replacement: refused, the old reader answers.
        assert!(std::fs::write(&live, b"not a database at all").is_ok());
        assert!(db.reload_if_changed().is_err());
        assert_eq!(country(&db, "81.2.69.160").as_deref(), Some("GB"));
        assert_eq!(db.database_type(), "GeoIP2-Country");
        // A valid replacement of another kind is taken.
        assert!(copy("GeoLite2-City-Test.mmdb").is_ok());
        assert_eq!(db.reload_if_changed().ok(), Some(true));
        assert_eq!(db.database_type(), "GeoLite2-City");
        assert_eq!(country(&db, "89.160.20.112").as_deref(), Some("SE"));
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
