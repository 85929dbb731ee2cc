//! `limit` and `cursor`, as every list takes them. A cursor is the position
//! after a page's last item, sealed with the server's key together with the
//! name of its list: a client can hand one back, but cannot make or alter
//! one, so anything but a cursor this server gave for this list is a 422
//! rather than a quietly different page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{AppError, Result};
use crate::security::Cipher;
use crate::store::Position;

/// The most items one page may hold.
pub const MAX_LIMIT: u32 = 1000;

/// The paging parameters of a list that has no others.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 1,000 items per page; 100 if left out.
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page asked for of the list `list`, 100 items long unless `limit` says otherwise.
    pub fn page(&self, cipher: &Cipher, list: &'static str) -> Result<Page> {
        Page::read(cipher, list, self.limit, self.cursor.as_deref(), 100)
    }
}

/// One page of a list, as asked for: where it starts and how long it is.
#[derive(Debug)]
pub struct Page {
    list: &'static str,
    /// The position of the last item of the page before, if any.
    pub after: Option<String>,
    pub limit: u32,
}

impl Page {
    /// Reads `limit` (default `default`) and opens `cursor`; an empty cursor
    /// (`?cursor=`) is the first page.
    pub fn read(
        cipher: &Cipher,
        list: &'static str,
        limit: Option<u32>,
        cursor: Option<&str>,
        default: u32,
    ) -> Result<Self> {
        let limit = limit.unwrap_or(default);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::field("limit", "must be from 1 to 1000"));
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(open(cipher, list, cursor).ok_or_else(|| {
                AppError::field(
                    "cursor",
                    "is not a next_cursor this list gave; leave it out for the first page",
                )
            })?),
        };
        Ok(Self { list, after, limit })
    }

    /// The position of a list in creation order (see [`created`]).
    pub fn after_created(&self) -> Option<Position<'_>> {
        let (at, id) = self.after.as_deref()?.split_once('/')?;
        Some((at.parse().ok()?, id))
    }

    /// How many items to ask the store for: one more than the page, which
    /// tells whether another page follows without an empty last page.
    pub fn fetch(&self) -> u32 {
        self.limit + 1
    }

    /// Cuts `items` (fetched with [`Page::fetch`]) to the page and makes the
    /// cursor of the next one from the position of its last item.
    pub fn finish<T>(
        &self,
        cipher: &Cipher,
        mut items: Vec<T>,
        position: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        if items.len() <= self.limit as usize {
            return (items, None);
        }
        items.truncate(self.limit as usize);
        let next = items
            .last()
            .map(|last| seal(cipher, self.list, &position(last)));
        (items, next)
    }
}

/// The position of an item in a list in creation order.
pub fn created(at: i64, id: &str) -> String {
    format!("{at}/{id}")
}

fn seal(cipher: &Cipher, list: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(cipher.seal(&format!("{list}\n{position}")))
}

fn open(cipher: &Cipher, list: &str, cursor: &str) -> Option<String> {
    let sealed = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = cipher.open(&sealed).ok()?;
    let (sealed_for, position) = text.split_once('\n')?;
    (sealed_for == list).then(|| position.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::new(&[3; 32])
    }

    fn page(cursor: Option<&str>) -> Result<Page> {
        Page::read(&cipher(), "webhooks", Some(2), cursor, 100)
    }

    #[test]
    fn a_cursor_opens_for_its_own_list_only() {
        let first = page(None).unwrap();
        let (items, next) = first.finish(&cipher(), vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(items, ["a", "b"]);
        let next = next.unwrap();
        assert_eq!(page(Some(&next)).unwrap().after.as_deref(), Some("b"));
        let other = Page::read(&cipher(), "users", None, Some(&next), 100);
        assert!(other.is_err());
        let other_key = Page::read(&Cipher::new(&[4; 32]), "webhooks", None, Some(&next), 100);
        assert!(other_key.is_err());
    }

    #[test]
    fn made_up_or_altered_cursors_are_refused() {
        for cursor in ["wh_0190", "garbage", "AAAA", "b", "%%%"] {
            assert!(page(Some(cursor)).is_err(), "{cursor}");
        }
        let (_, next) = page(None)
            .unwrap()
            .finish(&cipher(), vec![1, 2, 3], |n| n.to_string());
        let mut altered = next.unwrap().into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        assert!(page(Some(std::str::from_utf8(&altered).unwrap())).is_err());
    }

    #[test]
    fn the_last_page_has_no_cursor_and_limits_are_checked() {
        let (items, next) = page(None)
            .unwrap()
            .finish(&cipher(), vec![1, 2], |n| n.to_string());
        assert_eq!((items.len(), next), (2, None));
        assert!(Page::read(&cipher(), "webhooks", Some(0), None, 100).is_err());
        assert!(Page::read(&cipher(), "webhooks", Some(1001), None, 100).is_err());
        assert_eq!(page(Some("")).unwrap().after, None);
    }
}
