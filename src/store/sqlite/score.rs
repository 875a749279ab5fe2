//! Ranks search candidates by BM25 over their own text.
//!
//! FTS5's `bm25()` counts the messages that contain each query term over
//! the whole index before it scores the first row: about 10 ms for a common
//! word at a million messages, paid by every search. Search only ranks the
//! most recent matches, each of which contains every term, so that count
//! changes no order for a one-word query and little for a longer one. Here
//! every term weighs the same, and the term frequency and length
//! normalisation of BM25 are computed from the candidates' text.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// BM25's term-frequency saturation, FTS5's default.
const K1: f64 = 1.2;
/// BM25's length normalisation, FTS5's default.
const B: f64 = 0.75;

/// The words of a search, each as the tokens the index holds for it.
pub(super) struct Terms(Vec<Vec<String>>);

impl Terms {
    /// Splits the search text like the quoted FTS5 query built from it:
    /// one phrase per whitespace-separated word.
    pub(super) fn parse(query: &str) -> Terms {
        Terms(
            query
                .split_whitespace()
                .map(|word| {
                    let folded = Folded::new(word);
                    folded.tokens().map(str::to_owned).collect::<Vec<_>>()
                })
                .filter(|phrase| !phrase.is_empty())
                .collect(),
        )
    }

    /// Scores each text; a higher score is a better match. `texts` are
    /// messages the index matched, so each contains every phrase at least
    /// once, and a phrase the tokens here do not find (a tokenizer corner case)
    /// counts once rather than zero.
    pub(super) fn score_all(&self, texts: &[&str]) -> Vec<f64> {
        let documents: Vec<Folded> = texts.iter().map(|text| Folded::new(text)).collect();
        let total: usize = documents.iter().map(|d| d.spans.len()).sum();
        let average = (total as f64 / documents.len().max(1) as f64).max(1.0);
        documents
            .iter()
            .map(|document| self.score(document, average))
            .collect()
    }

    fn score(&self, document: &Folded, average_length: f64) -> f64 {
        let length_factor = 1.0 - B + B * document.spans.len() as f64 / average_length;
        self.0
            .iter()
            .map(|phrase| {
                let frequency = document.occurrences(phrase).max(1) as f64;
                frequency * (K1 + 1.0) / (frequency + K1 * length_factor)
            })
            .sum()
    }
}

/// A text lower-cased and without diacritics, with the byte ranges of its
/// tokens: the runs of letters and digits, as the `unicode61` tokenizer
/// splits them.
struct Folded {
    text: String,
    spans: Vec<(usize, usize)>,
    /// Start of the token being read, if any.
    open: Option<usize>,
}

impl Folded {
    fn new(text: &str) -> Folded {
        let mut folded = Folded {
            text: String::with_capacity(text.len()),
            spans: Vec::new(),
            open: None,
        };
        if text.is_ascii() {
            for c in text.chars() {
                folded.push(c.to_ascii_lowercase());
            }
        } else {
            for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
                for lower in c.to_lowercase() {
                    folded.push(lower);
                }
            }
        }
        folded.end_token();
        folded
    }

    fn push(&mut self, c: char) {
        if c.is_alphanumeric() {
            self.open.get_or_insert(self.text.len());
            self.text.push(c);
        } else {
            self.end_token();
        }
    }

    fn end_token(&mut self) {
        if let Some(start) = self.open.take() {
            self.spans.push((start, self.text.len()));
        }
    }

    fn tokens(&self) -> impl Iterator<Item = &str> {
        self.spans
            .iter()
            .map(|&(start, end)| &self.text[start..end])
    }

    /// Counts where `phrase` starts among the tokens.
    fn occurrences(&self, phrase: &[String]) -> usize {
        let n = phrase.len();
        if n == 0 || self.spans.len() < n {
            return 0;
        }
        (0..=self.spans.len() - n)
            .filter(|&at| {
                phrase.iter().enumerate().all(|(i, word)| {
                    let (start, end) = self.spans[at + i];
                    &self.text[start..end] == word
                })
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::{Folded, Terms};

    fn tokens(text: &str) -> Vec<String> {
        Folded::new(text).tokens().map(str::to_owned).collect()
    }

    #[test]
    fn tokens_fold_case_and_diacritics() {
        assert_eq!(
            tokens("Café-Bestellung ORD-42!"),
            ["cafe", "bestellung", "ord", "42"]
        );
        assert_eq!(tokens("plain ascii, TEXT"), ["plain", "ascii", "text"]);
        assert!(tokens(" -- ").is_empty());
    }

    #[test]
    fn more_occurrences_score_higher() {
        let terms = Terms::parse("fox");
        let scores = terms.score_all(&["fox fox fox", "the quick brown fox jumps"]);
        assert!(scores[0] > scores[1], "{scores:?}");
    }

    #[test]
    fn shorter_text_scores_higher_for_one_occurrence() {
        let terms = Terms::parse("kettle");
        let scores = terms.score_all(&[
            "the kettle arrived today with a small scratch on the lid",
            "kettle descaled",
        ]);
        assert!(scores[1] > scores[0], "{scores:?}");
    }

    #[test]
    fn phrase_counts_only_in_order() {
        let terms = Terms::parse("ORD-42");
        let scores = terms.score_all(&["ord 42 ord 42", "42 ord"]);
        assert!(scores[0] > scores[1], "{scores:?}");
    }

    #[test]
    fn every_word_adds_to_the_score() {
        let terms = Terms::parse("refund points");
        let scores = terms.score_all(&["refund points refund", "refund points"]);
        assert!(scores[0] > 0.0);
        assert!(scores[1] > 0.0);
        assert!(scores[0] > scores[1], "{scores:?}");
    }
}
