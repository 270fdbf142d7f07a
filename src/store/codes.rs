//! The fixed vocabularies of the data model: ISO country and language codes,
//! visibilities and roles. Values outside them are refused with the value named.

/// ISO 3166-1 alpha-2, officially assigned codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// ISO 639-1 two-letter language codes.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

pub const VISIBILITIES: [&str; 3] = ["public", "members", "hidden"];

/// Roles, in bit order: the `roles` column is a bit set of these.
pub const ROLES: [&str; 4] = ["learner", "author", "manager", "admin"];

pub const PARTICIPATION_STATUSES: [&str; 3] = ["undecided", "passed", "failed"];

/// Whether the two-letter `code` is in `list` (sorted, space-separated):
/// a binary search, as imports check a code on every row.
fn listed(list: &str, code: &str) -> bool {
    if code.len() != 2 {
        return false;
    }
    let entries = list.len().div_ceil(3);
    let entry = |i: usize| &list[3 * i..3 * i + 2];
    let (mut low, mut high) = (0, entries);
    while low < high {
        let mid = (low + high) / 2;
        match entry(mid).cmp(code) {
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// A country code in canonical (upper) case, or an error naming the value.
pub fn country(code: &str) -> Result<String, String> {
    let upper = code.trim().to_ascii_uppercase();
    if listed(COUNTRIES, &upper) {
        Ok(upper)
    } else {
        Err(format!(
            "unknown country '{code}': use an ISO 3166-1 alpha-2 code such as NL, DE or FR"
        ))
    }
}

/// A language code in canonical (lower) case, or an error naming the value.
pub fn language(code: &str) -> Result<String, String> {
    let lower = code.trim().to_ascii_lowercase();
    if listed(LANGUAGES, &lower) {
        Ok(lower)
    } else {
        Err(format!(
            "unknown language '{code}': use an ISO 639-1 code such as en, nl or fr"
        ))
    }
}

pub fn visibility(value: &str) -> Result<&'static str, String> {
    let lower = value.trim().to_ascii_lowercase();
    VISIBILITIES
        .iter()
        .find(|v| **v == lower)
        .copied()
        .ok_or_else(|| {
            format!(
                "unknown visibility '{value}': use one of {}",
                VISIBILITIES.join(", ")
            )
        })
}

/// The bit of one role in the `roles` column.
pub fn role_bit(name: &str) -> Result<i64, String> {
    let lower = name.trim().to_ascii_lowercase();
    ROLES
        .iter()
        .position(|r| *r == lower)
        .map(|i| 1 << i)
        .ok_or_else(|| format!("unknown role '{name}': use one of {}", ROLES.join(", ")))
}

/// The role names of a `roles` bit set, in canonical order.
pub fn role_names(bits: i64) -> Vec<&'static str> {
    ROLES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, r)| *r)
        .collect()
}

pub fn participation_status(value: &str) -> Result<&'static str, String> {
    let lower = value.trim().to_ascii_lowercase();
    PARTICIPATION_STATUSES
        .iter()
        .find(|v| **v == lower)
        .copied()
        .ok_or_else(|| {
            format!(
                "unknown participation status '{value}': use one of {}",
                PARTICIPATION_STATUSES.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_and_canonicalised() {
        assert_eq!(country("nl").unwrap(), "NL");
        assert!(country("XX").unwrap_err().contains("'XX'"));
        assert_eq!(language("FR").unwrap(), "fr");
        assert!(language("xx").is_err());
        assert_eq!(visibility("Hidden").unwrap(), "hidden");
        assert!(visibility("secret").unwrap_err().contains("'secret'"));
        assert_eq!(COUNTRIES.split(' ').count(), 249);
        for list in [COUNTRIES, LANGUAGES] {
            let codes: Vec<&str> = list.split(' ').collect();
            assert!(
                codes.windows(2).all(|w| w[0] < w[1]),
                "sorted for the binary search"
            );
            assert!(codes.iter().all(|c| listed(list, c)));
        }
        assert!(!listed(COUNTRIES, "ZZ") && !listed(COUNTRIES, "A"));
        assert_eq!(LANGUAGES.split(" ").count(), 183);
    }

    #[test]
    fn roles_round_trip_through_bits() {
        let bits = role_bit("author").unwrap() | role_bit("ADMIN").unwrap();
        assert_eq!(role_names(bits), ["author", "admin"]);
        assert!(role_bit("king").unwrap_err().contains("'king'"));
    }
}
