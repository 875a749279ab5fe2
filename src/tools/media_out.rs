//! The `media` object of a message in tool output: what a client needs to
//! show or fetch the file, without Pons's internal values.

use schemars::JsonSchema;
use serde::Serialize;

use crate::shorten::shorten;
use crate::store::{Direction, Message};

/// Maximum characters of a file name in tool output. A longer name, which
/// only a crafted webhook carries, is cut with `…`.
const MAX_FILE_NAME_CHARS: usize = 256;

/// Maximum characters of a download error in tool output.
const MAX_ERROR_CHARS: usize = 1_024;

/// The file of an image, video, audio, document or sticker message. The
/// file's SHA-256 and Meta's media id and download URL are left out,
/// because Meta's URL needs the account's access token and expires.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MediaOut {
    /// MIME type, for example `image/jpeg`.
    pub mime_type: Option<String>,
    /// The file name the sender gave. A longer one is shortened to 256
    /// characters, the `…` at its end included.
    pub file_name: Option<String>,
    /// Size in bytes of the stored copy, once downloaded.
    pub size_bytes: Option<i64>,
    /// Download state of a received file: `pending`, `stored` or `failed`.
    /// `null` for a file the business sent by link, which Pons does not
    /// download.
    pub download_status: Option<String>,
    /// The reason the download failed for good, when `downloadStatus` is
    /// `failed`.
    pub error: Option<String>,
    /// Path of the stored copy relative to the server's base URL, for
    /// example `/api/media/0190…`. Fetch it with GET and the same API key
    /// in `Authorization: Bearer …`, and the key needs the `read` scope. It
    /// returns 409 while the download is pending and 404 when it failed.
    /// `null` when Pons does not download the file.
    pub path: Option<String>,
    /// The business's own https:// link that an outbound file was sent
    /// from; `null` for received files.
    pub link: Option<String>,
}

/// Returns a file name shortened to `MAX_FILE_NAME_CHARS` characters.
pub(super) fn cut_file_name(name: &str) -> String {
    shorten(name, MAX_FILE_NAME_CHARS)
}

impl MediaOut {
    /// Builds the media object of `message`; `None` when it has no media.
    pub(super) fn of(message: &Message) -> Option<Self> {
        let media = message.media.as_ref()?;
        let failed = media.download_status.as_deref() == Some("failed");
        let path = media
            .is_downloadable()
            .then(|| crate::http::media_path(&message.id));
        // The stored URL of an inbound file is Meta's download URL; only an
        // outbound file's URL is the business's own link.
        let link = match message.direction {
            Direction::Outbound => media.url.clone(),
            Direction::Inbound => None,
        };
        Some(MediaOut {
            mime_type: media.mime_type.clone(),
            file_name: media.filename.as_deref().map(cut_file_name),
            size_bytes: media.size,
            download_status: media.download_status.clone(),
            error: media
                .download_error
                .as_deref()
                .filter(|_| failed)
                .map(|error| shorten(error, MAX_ERROR_CHARS)),
            path,
            link,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MediaRef, MessageId};

    fn message_with(direction: Direction, media: Option<MediaRef>) -> Message {
        Message {
            id: MessageId("0190aaaa-0000-7000-8000-000000000001".to_owned()),
            direction,
            kind: "document".to_owned(),
            media,
            ..Message::test_message()
        }
    }

    fn received(status: &str, error: Option<&str>) -> MediaRef {
        MediaRef {
            media_id: Some("meta-media-1".to_owned()),
            mime_type: Some("application/pdf".to_owned()),
            sha256: Some("ab".repeat(32)),
            filename: Some("invoice.pdf".to_owned()),
            url: Some("https://lookaside.example/meta-download?token=1".to_owned()),
            download_status: Some(status.to_owned()),
            size: (status == "stored").then_some(2_048),
            download_error: error.map(str::to_owned),
        }
    }

    #[test]
    fn stored_file_has_path_and_size() {
        let message = message_with(Direction::Inbound, Some(received("stored", None)));
        let media = MediaOut::of(&message).expect("media");
        assert_eq!(media.mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(media.file_name.as_deref(), Some("invoice.pdf"));
        assert_eq!(media.size_bytes, Some(2_048));
        assert_eq!(media.download_status.as_deref(), Some("stored"));
        assert_eq!(media.error, None);
        assert_eq!(
            media.path.as_deref(),
            Some("/api/media/0190aaaa-0000-7000-8000-000000000001")
        );
        assert_eq!(media.link, None, "Meta's download URL is never shown");
    }

    #[test]
    fn internal_values_are_left_out() {
        let message = message_with(Direction::Inbound, Some(received("stored", None)));
        let json = serde_json::to_string(&MediaOut::of(&message)).unwrap();
        assert!(!json.contains("lookaside"), "{json}");
        assert!(!json.contains("meta-media-1"), "{json}");
        assert!(!json.contains(&"ab".repeat(32)), "{json}");
        assert!(json.contains("\"mimeType\""), "{json}");
        assert!(json.contains("\"fileName\""), "{json}");
        assert!(json.contains("\"sizeBytes\""), "{json}");
        assert!(json.contains("\"downloadStatus\""), "{json}");
    }

    #[test]
    fn failed_download_shows_error() {
        let failed = received("failed", Some("the media is larger than the limit"));
        let media = MediaOut::of(&message_with(Direction::Inbound, Some(failed))).unwrap();
        assert_eq!(media.download_status.as_deref(), Some("failed"));
        assert_eq!(
            media.error.as_deref(),
            Some("the media is larger than the limit")
        );
        assert!(media.path.is_some());

        let pending = received("pending", Some("an old error"));
        let media = MediaOut::of(&message_with(Direction::Inbound, Some(pending))).unwrap();
        assert_eq!(media.error, None, "an error shows only once failed");
    }

    #[test]
    fn outbound_link_is_shown() {
        let sent = MediaRef {
            url: Some("https://cdn.example.com/cat.jpg".to_owned()),
            mime_type: Some("image/jpeg".to_owned()),
            ..MediaRef::default()
        };
        let media = MediaOut::of(&message_with(Direction::Outbound, Some(sent))).unwrap();
        assert_eq!(
            media.link.as_deref(),
            Some("https://cdn.example.com/cat.jpg")
        );
        assert_eq!(media.path, None, "Pons serves no copy of a linked file");
        assert_eq!(media.download_status, None);
    }

    #[test]
    fn inbound_url_without_download_is_hidden() {
        let undownloadable = MediaRef {
            url: Some("https://lookaside.example/meta-download".to_owned()),
            ..MediaRef::default()
        };
        let message = message_with(Direction::Inbound, Some(undownloadable));
        let media = MediaOut::of(&message).unwrap();
        assert_eq!(media.link, None);
        assert_eq!(media.path, None);
    }

    #[test]
    fn long_file_names_are_cut() {
        let mut media = received("stored", None);
        media.filename = Some("n".repeat(100_000));
        let output = MediaOut::of(&message_with(Direction::Inbound, Some(media))).unwrap();
        let name = output.file_name.unwrap();
        assert_eq!(name.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(name.ends_with('…'), "{name}");
    }

    #[test]
    fn text_message_has_no_media() {
        assert!(MediaOut::of(&message_with(Direction::Inbound, None)).is_none());
    }
}
