//! Free-mail providers: domains whose addresses belong to people, not to an organisation, so
//! an email there never links a contact to a company (`companies::link_by_email_domain`).
//!
//! An embedded list, because no crate on crates.io ships one usable here: the one that does
//! (`email_provider_validator`) downloads its lists from the web in its build script, which
//! an offline build cannot do. The list holds the consumer mailbox domains of the large
//! providers (Google, Microsoft, Yahoo, Apple, AOL/Verizon, Proton, Zoho, GMX/Web.de/1&1,
//! Yandex, Mail.ru, Tencent, NetEase, Naver, Daum/Kakao, Rediff, Fastmail, Tutanota, Orange,
//! Free, SFR, Libero, T-Online, Seznam, Interia/WP/Onet, Comcast and other ISPs' mailboxes),
//! written for this project from the providers' public domains; the long public lists (such
//! as HubSpot's "free domains" CSV, thousands of entries, many of them defunct) were left
//! out on purpose: a company only gets contacts by a domain an agent gave it, so the list
//! only has to stop the providers someone could plausibly enter as a company's domain. It
//! is matched on the whole domain, after IDNA (the email's domain normalised like a
//! company's). Extend [`FREE_MAIL_DOMAINS`] (kept sorted: a unit test checks) when a
//! provider is missing.

/// The free-mail domains, sorted (binary search).
pub const FREE_MAIL_DOMAINS: &[&str] = &[
    "126.com",
    "139.com",
    "163.com",
    "aim.com",
    "alice.it",
    "aol.co.uk",
    "aol.com",
    "aol.de",
    "aol.fr",
    "arcor.de",
    "att.net",
    "bellsouth.net",
    "bigpond.com",
    "bluewin.ch",
    "blueyonder.co.uk",
    "bol.com.br",
    "btinternet.com",
    "centrum.cz",
    "charter.net",
    "comcast.net",
    "cox.net",
    "daum.net",
    "earthlink.net",
    "email.com",
    "email.cz",
    "fastmail.com",
    "fastmail.fm",
    "free.fr",
    "freenet.de",
    "gmail.com",
    "gmx.at",
    "gmx.ch",
    "gmx.com",
    "gmx.de",
    "gmx.fr",
    "gmx.net",
    "googlemail.com",
    "hanmail.net",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.es",
    "hotmail.fr",
    "hotmail.it",
    "hushmail.com",
    "icloud.com",
    "inbox.com",
    "inbox.lv",
    "inbox.ru",
    "interia.pl",
    "juno.com",
    "kakao.com",
    "laposte.net",
    "libero.it",
    "list.ru",
    "live.co.uk",
    "live.com",
    "live.de",
    "live.fr",
    "live.it",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "netscape.net",
    "o2.pl",
    "onet.pl",
    "optonline.net",
    "orange.fr",
    "outlook.com",
    "outlook.de",
    "outlook.es",
    "outlook.fr",
    "outlook.it",
    "pm.me",
    "posteo.de",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "rediffmail.com",
    "rocketmail.com",
    "sbcglobal.net",
    "seznam.cz",
    "sfr.fr",
    "sina.com",
    "sky.com",
    "sohu.com",
    "t-online.de",
    "talktalk.net",
    "tiscali.it",
    "tuta.io",
    "tutanota.com",
    "tutanota.de",
    "uol.com.br",
    "verizon.net",
    "virgilio.it",
    "wanadoo.fr",
    "web.de",
    "windowslive.com",
    "wp.pl",
    "yahoo.ca",
    "yahoo.co.in",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.com.au",
    "yahoo.com.br",
    "yahoo.de",
    "yahoo.es",
    "yahoo.fr",
    "yahoo.in",
    "yahoo.it",
    "yandex.com",
    "yandex.ru",
    "yeah.net",
    "ymail.com",
    "zoho.com",
    "zohomail.com",
];

/// Whether `domain` (lower-case ASCII, as `normalize::domain` gives it) is a free-mail
/// provider's.
pub fn is_free_mail_domain(domain: &str) -> bool {
    FREE_MAIL_DOMAINS.binary_search(&domain).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_lower_case_and_unique() {
        for pair in FREE_MAIL_DOMAINS.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        for d in FREE_MAIL_DOMAINS {
            assert_eq!(
                crate::normalize::domain("domain", Some(d))
                    .unwrap()
                    .as_deref(),
                Some(*d),
                "{d} is not in normalised form"
            );
        }
        assert!(is_free_mail_domain("gmail.com"));
        assert!(!is_free_mail_domain("acme.io"));
        assert!(!is_free_mail_domain("mail.gmail.com"));
    }
}
