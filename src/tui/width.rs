//! How many columns text takes on a terminal: the `unicode-width` crate's answer, the one
//! ratatui lays cells out with. CJK and most emoji take two columns, combining marks none;
//! an emoji sequence joined with ZWJ is one picture of two columns. The backend advances
//! its idea of the cursor with it and the screens wrap and cut text with it, so both agree
//! with what ratatui draws.

use unicode_width::UnicodeWidthStr;

/// Columns `s` takes.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` as it fits in `cols` columns: whole, or cut with "..." at the end (lists whose whole
/// entry is a key away: an edit or the answers hold it in full).
pub fn cut(s: &str, cols: usize) -> String {
    if width(s) <= cols {
        return s.to_string();
    }
    let (head, _) = split_at_width(s, cols.saturating_sub(3));
    format!("{head}...")
}

/// `s` cut into a head at most `cols` columns wide (the longest such) and the rest. Never
/// cuts before a mark that belongs to the previous character (combining marks, variation
/// selectors, zero-width joiners and what they join); a first character wider than `cols`
/// still goes into the head, so that cutting always makes progress.
pub fn split_at_width(s: &str, cols: usize) -> (&str, &str) {
    let zero = |c: char| {
        let mut b = [0u8; 4];
        width(c.encode_utf8(&mut b)) == 0
    };
    let (mut cut, mut used) = (0, 0);
    let mut chars = s.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let end = chars.peek().map_or(s.len(), |&(i, _)| i);
        // no cut before a character that attaches to this one
        if let Some(&(_, n)) = chars.peek()
            && (c == '\u{200d}' || zero(n))
        {
            continue;
        }
        let w = width(&s[cut..end]);
        if used + w > cols && cut > 0 {
            break;
        }
        used += w;
        cut = end;
    }
    s.split_at(cut)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cut_counts_columns_not_characters() {
        assert_eq!(super::cut("office VPN", 10), "office VPN");
        assert_eq!(super::cut("office VPN!", 10), "office ...");
        // CJK takes two columns a character
        assert_eq!(super::cut("東京の支店の電話", 10), "東京の...");
        assert!(super::width(&super::cut("東京の支店の電話", 10)) <= 10);
    }

    use super::*;

    #[test]
    fn widths_of_ascii_cjk_emoji_and_marks() {
        assert_eq!(width("trixuser"), 8);
        assert_eq!(width(""), 0);
        assert_eq!(width("电话"), 4);
        assert_eq!(width("ﾃｽﾄ"), 3); // half-width katakana
        assert_eq!(width("👍"), 2);
        assert_eq!(width("e\u{301}"), 1); // e + combining acute
        assert_eq!(width("\u{301}"), 0);
        assert_eq!(width("👩\u{200d}🔬"), 2); // one ZWJ picture
        assert_eq!(width("Grüße"), 5);
    }

    #[test]
    fn cuts_by_columns_never_inside_a_character() {
        assert_eq!(split_at_width("abcdef", 4), ("abcd", "ef"));
        assert_eq!(split_at_width("电话号码", 5), ("电话", "号码"));
        assert_eq!(split_at_width("电话号码", 4), ("电话", "号码"));
        assert_eq!(split_at_width("ae\u{301}b", 2), ("ae\u{301}", "b"));
        assert_eq!(split_at_width("a👩\u{200d}🔬b", 3), ("a👩\u{200d}🔬", "b"));
        assert_eq!(split_at_width("a👩\u{200d}🔬b", 2), ("a", "👩\u{200d}🔬b"));
        // too narrow for the first character: it goes anyway
        assert_eq!(split_at_width("电话", 1), ("电", "话"));
        assert_eq!(split_at_width("", 3), ("", ""));
        assert_eq!(split_at_width("abc", 10), ("abc", ""));
    }
}
