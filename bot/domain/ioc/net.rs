//! IP addresses and CIDR blocks: strict parsing into canonical form, and the
//! special-purpose address blocks that earn a flag.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::IocFlag;

/// A CIDR block in canonical form: the network address with its host bits
/// cleared, so `192.0.2.7/24` and `192.0.2.0/24` are the same block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    fn bits(&self) -> (u128, u8, bool) {
        match self.network {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), self.prefix, false),
            IpAddr::V6(v6) => (u128::from(v6), self.prefix, true),
        }
    }

    /// Returns whether `ip` lies inside this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (net, prefix, v6) = self.bits();
        match ip {
            IpAddr::V4(v4) if !v6 => same_prefix(net, u128::from(u32::from(v4)), prefix, 32),
            IpAddr::V6(v6addr) if v6 => same_prefix(net, u128::from(v6addr), prefix, 128),
            _ => false,
        }
    }

    /// Returns whether this block contains all of `other`.
    pub fn covers(&self, other: &Cidr) -> bool {
        self.prefix <= other.prefix && self.contains(other.network)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    let host_bits = width - u32::from(prefix);
    if host_bits >= width {
        return true;
    }
    (a >> host_bits) == (b >> host_bits)
}

/// Parses a dotted-quad IPv4 address. Each octet has one to three decimal
/// digits; leading zeros are read as decimal (`010.0.0.1` is `10.0.0.1`),
/// unlike `inet_aton`, which reads them as octal.
pub(crate) fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    let bytes = text.as_bytes();
    if !(7..=15).contains(&bytes.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut index = 0;
    let mut value: u32 = 0;
    let mut digits = 0;
    for &byte in bytes {
        match byte {
            b'0'..=b'9' if digits < 3 => {
                value = value * 10 + u32::from(byte - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && index < 3 && value <= 255 => {
                octets[index] = value as u8;
                index += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if index != 3 || digits == 0 || value > 255 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

/// Parses an IPv6 address found in free text. Besides the syntax check it
/// rejects forms that are more often something else: fewer than three hex
/// digits in all (`a::b`, `1::`), and groups that are all short decimal
/// numbers (`12::30`, a time with a doubled colon). `::1` is accepted.
pub(crate) fn parse_ipv6_in_text(text: &str) -> Option<Ipv6Addr> {
    if !(2..=45).contains(&text.len()) {
        return None;
    }
    let addr = parse_ipv6(text)?;
    if text == "::1" {
        return Some(addr);
    }
    let hex_digits = text.bytes().filter(u8::is_ascii_hexdigit).count();
    if hex_digits < 3 {
        return None;
    }
    let time_like = text
        .split(':')
        .all(|group| group.len() <= 2 && group.bytes().all(|c| c.is_ascii_digit()));
    if time_like {
        return None;
    }
    Some(addr)
}

/// Parses an IPv6 address with the standard library's RFC 4291 syntax, after
/// a cheap character check.
pub(crate) fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    if !text
        .bytes()
        .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
    {
        return None;
    }
    text.parse().ok()
}

/// Parses `address/prefix` into a canonical block. An IPv4 prefix is 0–32 and
/// an IPv6 prefix 0–128, written in decimal without leading zeros.
pub(crate) fn parse_cidr(text: &str) -> Option<Cidr> {
    let (address, prefix) = text.split_once('/')?;
    if prefix.is_empty()
        || prefix.len() > 3
        || (prefix.len() > 1 && prefix.starts_with('0'))
        || !prefix.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let network = if address.contains(':') {
        if prefix > 128 {
            return None;
        }
        let bits = u128::from(parse_ipv6(address)?);
        IpAddr::V6(Ipv6Addr::from(mask(bits, prefix, 128)))
    } else {
        if prefix > 32 {
            return None;
        }
        let bits = u128::from(u32::from(parse_ipv4(address)?));
        IpAddr::V4(Ipv4Addr::from(mask(bits, prefix, 32) as u32))
    };
    Some(Cidr { network, prefix })
}

fn mask(bits: u128, prefix: u8, width: u32) -> u128 {
    let host_bits = width - u32::from(prefix);
    if host_bits >= 128 {
        0
    } else {
        bits >> host_bits << host_bits
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8, flag: IocFlag) -> (Cidr, IocFlag) {
    let network = IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    (Cidr { network, prefix }, flag)
}

const fn v6(bits: u128, prefix: u8, flag: IocFlag) -> (Cidr, IocFlag) {
    let network = IpAddr::V6(Ipv6Addr::from_bits(bits));
    (Cidr { network, prefix }, flag)
}

/// Special-purpose blocks (IANA IPv4 and IPv6 Special-Purpose Address
/// Registries, RFC 6890) and the flag each earns.
const SPECIAL_BLOCKS: [(Cidr, IocFlag); 25] = [
    // "This network", RFC 791.
    v4(0, 0, 0, 0, 8, IocFlag::Reserved),
    v4(10, 0, 0, 0, 8, IocFlag::Private),
    // Shared address space for carrier-grade NAT, RFC 6598.
    v4(100, 64, 0, 0, 10, IocFlag::Private),
    v4(127, 0, 0, 0, 8, IocFlag::Loopback),
    v4(169, 254, 0, 0, 16, IocFlag::LinkLocal),
    v4(172, 16, 0, 0, 12, IocFlag::Private),
    // IETF protocol assignments, RFC 6890.
    v4(192, 0, 0, 0, 24, IocFlag::Reserved),
    // TEST-NET-1, -2 and -3, RFC 5737.
    v4(192, 0, 2, 0, 24, IocFlag::Documentation),
    v4(198, 51, 100, 0, 24, IocFlag::Documentation),
    v4(203, 0, 113, 0, 24, IocFlag::Documentation),
    // 6to4 relay anycast, deprecated by RFC 7526.
    v4(192, 88, 99, 0, 24, IocFlag::Reserved),
    v4(192, 168, 0, 0, 16, IocFlag::Private),
    // Benchmarking, RFC 2544.
    v4(198, 18, 0, 0, 15, IocFlag::Reserved),
    v4(224, 0, 0, 0, 4, IocFlag::Multicast),
    // MCAST-TEST-NET, RFC 6676.
    v4(233, 252, 0, 0, 24, IocFlag::Documentation),
    // Future use (RFC 1112), which includes the limited broadcast 255.255.255.255.
    v4(240, 0, 0, 0, 4, IocFlag::Reserved),
    // Unspecified and loopback, RFC 4291.
    v6(0, 128, IocFlag::Reserved),
    v6(1, 128, IocFlag::Loopback),
    // Discard-only, RFC 6666.
    v6(0x0100_0000_0000_0000 << 64, 64, IocFlag::Reserved),
    // Documentation, RFC 3849 and RFC 9637.
    v6(0x2001_0db8 << 96, 32, IocFlag::Documentation),
    v6(0x3fff << 112, 20, IocFlag::Documentation),
    // Unique local addresses, RFC 4193.
    v6(0xfc00 << 112, 7, IocFlag::Private),
    v6(0xfe80 << 112, 10, IocFlag::LinkLocal),
    // Site-local, deprecated by RFC 3879.
    v6(0xfec0 << 112, 10, IocFlag::Reserved),
    v6(0xff00 << 112, 8, IocFlag::Multicast),
];

/// Returns the flags of the special-purpose blocks that contain `ip`. An
/// IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) takes the flags of its IPv4
/// address.
pub(crate) fn address_flags(ip: IpAddr, flags: &mut Vec<IocFlag>) {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    for (block, flag) in &SPECIAL_BLOCKS {
        if block.contains(ip) {
            flags.push(*flag);
        }
    }
}

/// Returns the flags of every special-purpose block that overlaps `cidr`:
/// `10.1.0.0/16` is private, and `0.0.0.0/0` carries every IPv4 flag because
/// blocking it would block those ranges too.
pub(crate) fn cidr_flags(cidr: &Cidr, flags: &mut Vec<IocFlag>) {
    for (block, flag) in &SPECIAL_BLOCKS {
        if block.covers(cidr) || cidr.covers(block) {
            flags.push(*flag);
        }
    }
}
