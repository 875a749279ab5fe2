//! The media types Meta accepts for image, video, audio and document
//! messages, with their size limits, after the supported-types table of
//! Meta's Cloud API media documentation.

use crate::echo::echoed;
use crate::whatsapp::graph::MediaKind;

const MB: u64 = 1024 * 1024;

/// One accepted MIME type and the largest file Meta takes for it.
struct Accepted {
    mime_type: &'static str,
    kind: MediaKind,
    /// The extensions people know the type by, for error messages.
    names: &'static str,
    max_bytes: u64,
}

// NOTE: Meta states the limits in MB without saying whether it means 10^6
// or 2^20 bytes, so the more permissive binary reading is used.
const ACCEPTED: &[Accepted] = &[
    accepted("image/jpeg", MediaKind::Image, "jpeg", 5),
    accepted("image/png", MediaKind::Image, "png", 5),
    accepted("video/mp4", MediaKind::Video, "mp4", 16),
    accepted("video/3gpp", MediaKind::Video, "3gp", 16),
    accepted("audio/aac", MediaKind::Audio, "aac", 16),
    accepted("audio/amr", MediaKind::Audio, "amr", 16),
    accepted("audio/mpeg", MediaKind::Audio, "mp3", 16),
    accepted("audio/mp4", MediaKind::Audio, "m4a", 16),
    accepted("audio/ogg", MediaKind::Audio, "ogg with OPUS", 16),
    accepted("application/pdf", MediaKind::Document, "pdf", 100),
    accepted("text/plain", MediaKind::Document, "txt", 100),
    accepted("application/msword", MediaKind::Document, "doc", 100),
    accepted(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        MediaKind::Document,
        "docx",
        100,
    ),
    accepted("application/vnd.ms-excel", MediaKind::Document, "xls", 100),
    accepted(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        MediaKind::Document,
        "xlsx",
        100,
    ),
    accepted(
        "application/vnd.ms-powerpoint",
        MediaKind::Document,
        "ppt",
        100,
    ),
    accepted(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        MediaKind::Document,
        "pptx",
        100,
    ),
];

const fn accepted(
    mime_type: &'static str,
    kind: MediaKind,
    names: &'static str,
    megabytes: u64,
) -> Accepted {
    Accepted {
        mime_type,
        kind,
        names,
        max_bytes: megabytes * MB,
    }
}

/// A MIME type Meta accepts, with the message type it is sent as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MediaType {
    /// The lower-case type without parameters, such as `audio/ogg`.
    pub essence: String,
    pub kind: MediaKind,
    pub max_bytes: u64,
}

/// Looks `mime_type` up. The message type comes from
/// [`MediaKind::from_mime_type`], and the error lists every accepted type.
pub(super) fn media_type(mime_type: &str) -> Result<MediaType, String> {
    let essence = mime_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let kind = MediaKind::from_mime_type(&essence);
    match ACCEPTED
        .iter()
        .find(|a| a.mime_type == essence && a.kind == kind)
    {
        Some(found) => Ok(MediaType {
            essence,
            kind,
            max_bytes: found.max_bytes,
        }),
        None => Err(format!(
            "\"{}\" is not a type WhatsApp accepts; use one of {}",
            echoed(mime_type),
            accepted_list()
        )),
    }
}

/// Lists the accepted types with their limits, grouped by message type.
pub(super) fn accepted_list() -> String {
    let groups = [
        (MediaKind::Image, "image"),
        (MediaKind::Video, "video"),
        (MediaKind::Audio, "audio"),
        (MediaKind::Document, "document"),
    ];
    groups
        .iter()
        .map(|(kind, label)| {
            let members: Vec<&Accepted> = ACCEPTED.iter().filter(|a| a.kind == *kind).collect();
            let types: Vec<String> = members
                .iter()
                .map(|a| format!("{} ({})", a.mime_type, a.names))
                .collect();
            let max = members.first().map_or(0, |a| a.max_bytes / MB);
            format!("{label} up to {max} MB: {}", types.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Returns the message type's name on the wire.
pub(super) fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_maps_and_limits() {
        let jpeg = media_type("IMAGE/JPEG").unwrap();
        assert_eq!(jpeg.kind, MediaKind::Image);
        assert_eq!(jpeg.essence, "image/jpeg");
        assert_eq!(jpeg.max_bytes, 5 * MB);
        let ogg = media_type("audio/ogg; codecs=opus").unwrap();
        assert_eq!(ogg.kind, MediaKind::Audio);
        assert_eq!(ogg.max_bytes, 16 * MB);
        let pdf = media_type("application/pdf").unwrap();
        assert_eq!(pdf.kind, MediaKind::Document);
        assert_eq!(pdf.max_bytes, 100 * MB);
    }

    #[test]
    fn media_type_rejects_unsupported() {
        for rejected in ["image/webp", "image/gif", "application/zip", ""] {
            let error = media_type(rejected).unwrap_err();
            assert!(error.contains("image/png (png)"), "{error}");
            assert!(error.contains("video up to 16 MB"), "{error}");
        }
    }
}
