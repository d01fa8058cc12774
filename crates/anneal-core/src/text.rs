//! Text formatting shared by every renderer (reports, gate verdicts,
//! sweep leaderboards, the registry and artifact listings): hex digests,
//! Markdown and HTML escaping and the number formats. Each function is the
//! one copy of a format several files used to spell out; its output is
//! pinned byte for byte by the tests below, because report and artifact
//! hashes depend on it.

/// Lowercase hex of `bytes`, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// `s` with the five HTML-special characters escaped; safe in text and in
/// quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `|` escaped as `\|`, so that text cannot end a Markdown table cell.
pub fn md_escape_pipes(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A Markdown table cell: `|` escaped, line breaks (LF and CR) made
/// spaces.
pub fn md_cell(s: &str) -> String {
    md_escape_pipes(s).replace(['\n', '\r'], " ")
}

/// A Markdown table cell as the gate verdict writes it: `|` escaped, LF
/// made a space (a CR is kept).
pub fn md_cell_lf(s: &str) -> String {
    md_escape_pipes(s).replace('\n', " ")
}

/// `s` without trailing zeros after its decimal point (and without the
/// point when nothing follows it); `s` unchanged when it has no point.
pub fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Four decimals, or `n/a` for NaN or an infinity.
pub fn fixed4_or_na(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "n/a".into()
    }
}

/// Four decimals, never `-0.0000`; `n/a` for NaN, `∞` and `−∞` (U+2212)
/// for the infinities.
pub fn fixed4_symbols(v: f64) -> String {
    if v.is_nan() {
        "n/a".to_string()
    } else if v.is_infinite() {
        if v > 0.0 {
            "\u{221e}"
        } else {
            "\u{2212}\u{221e}"
        }
        .to_string()
    } else {
        let v = if v == 0.0 { 0.0 } else { v };
        format!("{v:.4}")
    }
}

/// Up to `decimals` decimals, trailing zeros trimmed, never `-0`; a
/// non-finite value as Rust prints it (`NaN`, `inf`, `-inf`).
pub fn decimals_trimmed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.decimals$}");
    let s = trim_zeros(&s);
    if s == "-0" { "0".into() } else { s.into() }
}

/// Four significant digits without trailing zeros; scientific (`1.500e-7`)
/// outside 1e-4 to 1e6; zero and non-finite values as Rust prints them.
pub fn significant4(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let mag = f.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{f:.3e}");
    }
    let decimals = (3 - mag).max(0) as usize;
    trim_zeros(&format!("{f:.decimals$}")).to_string()
}

/// A count with thousands separators: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a percentage with up to two decimals: `0.95` as `95%`,
/// `0.999` as `99.9%`; `n/a` when not finite.
pub fn percent(p: f64) -> String {
    if !p.is_finite() {
        return "n/a".to_string();
    }
    format!("{}%", trim_zeros(&format!("{:.2}", p * 100.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0, 1, 0xab, 0xff, 0x10]), "0001abff10");
    }

    #[test]
    fn html_escapes_the_five_characters() {
        assert_eq!(
            html_escape("a<b>&\"c\"'d' é"),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39; é"
        );
    }

    #[test]
    fn markdown_cells() {
        assert_eq!(md_escape_pipes("a|b\nc"), "a\\|b\nc");
        assert_eq!(md_cell("a|b\nc\r\nd"), "a\\|b c  d");
        assert_eq!(md_cell_lf("a|b\nc\r\nd"), "a\\|b c\r d");
    }

    #[test]
    fn fixed_formats() {
        assert_eq!(fixed4_or_na(0.123456), "0.1235");
        assert_eq!(fixed4_or_na(-0.0), "-0.0000");
        assert_eq!(fixed4_or_na(f64::NAN), "n/a");
        assert_eq!(fixed4_or_na(f64::INFINITY), "n/a");
        assert_eq!(fixed4_symbols(-0.0), "0.0000");
        assert_eq!(fixed4_symbols(2.0), "2.0000");
        assert_eq!(fixed4_symbols(f64::NAN), "n/a");
        assert_eq!(fixed4_symbols(f64::INFINITY), "∞");
        assert_eq!(fixed4_symbols(f64::NEG_INFINITY), "−∞");
    }

    #[test]
    fn trimmed_formats() {
        assert_eq!(trim_zeros("1.500"), "1.5");
        assert_eq!(trim_zeros("2.000"), "2");
        assert_eq!(trim_zeros("1000"), "1000");
        assert_eq!(decimals_trimmed(0.5, 4), "0.5");
        assert_eq!(decimals_trimmed(-0.00001, 4), "0");
        assert_eq!(decimals_trimmed(12.0, 4), "12");
        assert_eq!(decimals_trimmed(0.123456, 4), "0.1235");
        assert_eq!(decimals_trimmed(f64::NAN, 4), "NaN");
        assert_eq!(decimals_trimmed(f64::NEG_INFINITY, 4), "-inf");
        assert_eq!(significant4(0.001), "0.001");
        assert_eq!(significant4(0.000342712), "0.0003427");
        assert_eq!(significant4(0.966666), "0.9667");
        assert_eq!(significant4(58.61), "58.61");
        assert_eq!(significant4(1000.0), "1000");
        assert_eq!(significant4(1.5e-7), "1.500e-7");
        assert_eq!(significant4(0.0), "0");
        assert_eq!(significant4(f64::NAN), "NaN");
        assert_eq!(percent(0.95), "95%");
        assert_eq!(percent(0.999), "99.9%");
        assert_eq!(percent(0.1234), "12.34%");
        assert_eq!(percent(f64::NAN), "n/a");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
