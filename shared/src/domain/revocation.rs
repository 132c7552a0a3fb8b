//! Revocations in other words (FCC 24-24: consent may be revoked by *any reasonable means*),
//! rules 2 and 4 of docs/api.md "What a text asks for": clear revocation phrases
//! ([`revocation_phrase`]), honoured at once, and review cues ([`ReviewCues`]) that *may* mean a
//! revocation, for a person to decide (alone, a cue is as often none: "no more than 2 tickets").
//!
//! Phrases match as whole [`match_key`] words anywhere, except a few that count only as the whole
//! message once politeness words are set aside ("please remove me"): a bare "remove me" in a
//! longer message is too easily about something else. A negation within three words before a
//! phrase ("please don't stop texting me") voids it, leaving the message to the review tier.
//! One [`match_key`], then a scan of a few dozen short patterns; no regex.

use crate::domain::keywords::match_key;
use crate::domain::language::Language;

/// The review cues when `REVIEW_CUES` is not set: words and phrases that often, but not always,
/// carry a revocation. Broad on purpose (a review costs a person a minute; a missed revocation is
/// a violation), and never wide enough to catch ordinary words like "end" or "wrong".
pub const DEFAULT_REVIEW_CUES: &str = "stop, stopped, unsubscribe, unsub, opt out, optout, \
remove, delete, cancel, quit, revoke, block, blocked, blocking, spam, spamming, harass, \
harassing, harassment, lawyer, attorney, sue, lawsuit, fcc, ftc, tcpa, consent, no more, \
not interested, take me off, leave me, my number, new number, who is this, how did you get, \
texting me, annoying, unwanted, too many, too much, never signed up, signed up for, \
don t remember subscribing, enough, junk, scam, reported, reporting, fewer texts, less often, \
only text me, don t know you, do not call, emergencies only, every day, cancle, \
don t need this, driving me crazy";

/// Spanish and French review cues, read with `default` for the languages read: the same kinds
/// of words as the English ones (who is this, spam, a lawyer, too many, not interested). Source:
/// usage (testdata/revocations/README.md).
pub const DEFAULT_REVIEW_CUES_ES: &str = "quien es, quien habla, quien me escribe, \
no me interesa, spam, como consiguieron, como obtuvieron, mi numero, basta, ya basta, \
demasiados mensajes, tantos mensajes, abogado, demanda, denuncia, denunciar, reportar, \
molesten, molestan, molestar, acoso, no autorice, nunca me suscribi, siguen escribiendo, \
para que me mandan, estafa, bloqueado, bloquear, no conozco, les dije, como me salgo, \
dejen de, cancelar, baja, eliminar, borrar";
pub const DEFAULT_REVIEW_CUES_FR: &str = "c est qui, qui est ce, qui etes vous, \
pas interesse, pas interessee, spam, arnaque, comment avez vous, mon numero, ca suffit, \
trop de messages, trop de textos, ecrivez trop, avocat, plainte, harcelement, jamais inscrit, \
jamais demande, pourquoi vous m ecrivez, ce numero, bloque, arreter, arretez, arrete, \
desabonner, annuler, supprimer, retirer, stop";

/// Words set aside before a whole-message phrase is compared ("please remove me thanks").
pub const POLITE: &[&str] = &[
    "please", "pls", "plz", "plse", "thanks", "thank", "you", "thx", "ty", "now", "asap", "ok",
    "okay", "just", "hi", "hello", "hey", "sorry", // Spanish
    "por", "favor", "porfa", "porfavor", "gracias", "ya", "hola", // French
    "svp", "stp", "merci", "s", "il", "vous", "plait", "bonjour", "salut",
];

/// Whole messages (once [`POLITE`] words are set aside) that may be a person asking to stop
/// without any keyword ("NO", "enough!!", "not again"): queued for a person, never honoured.
const EMPHATIC: &[&str] = &[
    "no",
    "nope",
    "nah",
    "no thanks",
    "no thank",
    "enough",
    "enough already",
    "not again",
    "again",
    "ugh again",
    "seriously again",
    "what is this",
    "who dis",
    "who this",
    "do i know you",
    "f off",
    "scam",
    "do i know",
    "don t care",
    "dont care",
    "no gracias",
    "que pesados",
    "esto que es",
    "que es esto",
    "bloqueado",
    "non",
    "non merci",
    "encore",
    "bloque",
    "c est quoi",
];

/// Emoji that say no on their own (thumbs down, no entry, an angry face).
const EMPHATIC_EMOJI: &[char] = &['👎', '🚫', '⛔', '🛑', '😡', '🤬', '🖕'];

/// Words that make a message the opposite of a revocation wherever they stand ("I
/// unsubscribed by accident, add me back"): no phrase is read in it.
const VOIDING: &[&str] = &[
    "add me back",
    "sign me back up",
    "resubscribe me",
    "by accident",
    "accidentally",
];

/// Whether `text` is a short emphatic "no" with no keyword, for the review tier.
pub fn emphatic(text: &str, key: &str) -> bool {
    let stripped: Vec<&str> = key.split(' ').filter(|w| !POLITE.contains(w)).collect();
    let stripped = stripped.join(" ");
    (!stripped.is_empty() && EMPHATIC.contains(&stripped.as_str()))
        || (key.is_empty() && text.chars().any(|c| EMPHATIC_EMOJI.contains(&c)))
}

/// Negation words per language: one of these within [`NEGATION_WINDOW`] words before a phrase
/// voids it there ("no dejen de enviarme", "n'arrêtez pas").
const NEGATIONS: &[(Language, &[&str])] = &[
    (
        Language::En,
        &["not", "never", "dont", "didnt", "doesnt", "wont", "cant"],
    ),
    (Language::Es, &["no", "nunca", "jamas"]),
    (Language::Fr, &["ne", "n", "pas", "jamais"]),
];
/// Words whose `'t` ending (split off as the word `t`) makes a negation: "don't" → `don t`.
const NEGATED_AUX: &[&str] = &[
    "don", "didn", "doesn", "won", "can", "wouldn", "shouldn", "isn", "aren", "wasn",
];
const NEGATION_WINDOW: usize = 3;
/// Words that may stand between a negation and the phrase it negates ("don't ever stop", "I
/// do not want you to stop"); any other word ends the negation's reach ("not interested, stop
/// texting me").
const NEGATION_BRIDGE: &[&str] = &[
    "ever", "really", "just", "please", "you", "u", "to", "want", "need", "say", "said", "ask",
    "asked", "tell", "told", "the", "a", "ya", "me", "te", "se", "vous", "nous", "plus",
];

/// Where a phrase may stand: anywhere as whole words unless negated, or as the whole message
/// once [`POLITE`] words are set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Anywhere,
    Whole,
}

/// The curated table: (canonical phrase, where, pattern). Pattern syntax: slots separated by
/// spaces; a slot is alternatives separated by `|`, each alternative one or more words joined by
/// `_`; `*` is a gap of 0 to [`GAP`] arbitrary words. Every word is already in [`match_key`] form
/// (a unit test checks), so "don't" is written `don_t`.
const PHRASES: &[(&str, Place, Language, &str)] = &[
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "stop|quit|cease|stp|stopp texting|txting|texing|textin|text|txt|txtin|texting_to|messaging|msging|message|msg|contacting|spamming|bothering|calling|harassing|sending|sending_texts_to|sending_messages_to me|us|this_number|my_number|my_phone",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "stop|quit|cease|stp|stopp sending|with * texts|txts|txt|messages|msgs|sms|spam",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "stop|quit the|these|all|your|ur|those|all_these|all_the|all_your texts|txts|messages|msgs|text_messages|spam",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "stop receiving|getting * texts|txts|messages|msgs|text_messages|these|them",
    ),
    // A STOP the person already sent, restated ("I said stop", "I told you to stop").
    (
        "stop",
        Place::Anywhere, Language::En,
        "said|told_you|told_you_to|asked_you_to|asked_you|already_said stop|unsubscribe|to_stop|opt_out",
    ),
    // STOP, misspelt or with politeness around it, as the whole message.
    (
        "stop",
        Place::Whole, Language::En,
        "stop|stp|stopp|stopt|sotp|stpo|stpp|stoop|stap|stahp|stoo|atop|sstop|stop_it|stop_this|stop_that|stop_texting|stop_sending",
    ),
    (
        "don't text me anymore",
        Place::Anywhere, Language::En,
        "don_t|dont|do_not|never|don_t_ever|dont_ever|do_not_ever text|txt|texting|txting|message|msg|contact|sms|call_or_text|text_or_call|send_texts_to|send_messages_to me|us|this_number|my_number",
    ),
    (
        "don't text me anymore",
        Place::Anywhere, Language::En,
        "i_don_t|i_dont|i_do_not|we_don_t|we_do_not want|need * texts|txts|txt|messages|msgs|text_messages|spam",
    ),
    (
        "no more texts",
        Place::Anywhere, Language::En,
        "no_more|nomore|no_more_of|no_more_of_these|no_more_of_your|no_more_of_the texts|text|txts|txt|messages|msgs|msg|sms|text_messages|spam|marketing|promotions|promos|ads|promo|promo_texts|promotional_texts|marketing_texts",
    ),
    ("no more texts", Place::Whole, Language::En, "no_more|nomore|no_more_please"),
    (
        "remove me from your list",
        Place::Anywhere, Language::En,
        "remove|remov|remve|rmv|delete|erase me|my_number|this_number|my_phone|my_phone_number|us from|form|off|of * list|lists|database|contacts|system",
    ),
    (
        "remove me from your list",
        Place::Anywhere, Language::En,
        "remove|remov|remve|delete|erase my_number|this_number|my_phone_number|my_cell|my_info",
    ),
    (
        "remove me from your list",
        Place::Whole, Language::En,
        "remove|remove_me|remov_me|remve_me|delete_me|remove_us|remove_it|remove_this|remove_number|delete|delete_number",
    ),
    (
        "take me off this list",
        Place::Anywhere, Language::En,
        "take|get|tak me|my_number|this_number|us off|of|out_of * list|lists|database|texts|texting|messages|contacts",
    ),
    (
        "take me off this list",
        Place::Whole, Language::En,
        "take_me_off|take_me_off_this|take_me_off_it|take_me_out|take_this_number_off|take_my_number_off|get_me_off|take_off",
    ),
    (
        "i want to opt out",
        Place::Anywhere, Language::En,
        "i_want_to|i_wanna|i_want|i_wish_to|i_need_to|i_would_like_to|i_d_like_to|id_like_to|i_would_like|we_want_to|we_would_like_to|i_d_like|id_like opt_out|optout|opt_put|opt_ou|unsubscribe|unsub|unsubscribed|be_removed|be_taken_off|out",
    ),
    (
        "i want to opt out",
        Place::Anywhere, Language::En,
        "please_unsubscribe|pls_unsubscribe|kindly_unsubscribe|unsubscribe_this|unsubscribe_my",
    ),
    (
        "i want to opt out",
        Place::Anywhere, Language::En,
        "opt|please_opt me|us|this_number|my_number out",
    ),
    (
        "leave me alone",
        Place::Anywhere, Language::En,
        "leave|leav|leve|lv|let me|us alone|alon|allone|be",
    ),
    // "wrong number": a reassigned number's new holder never consented.
    (
        "wrong number",
        Place::Anywhere, Language::En,
        "wrong|wrng|worng|wromg|wong number|numbr|nunber|numer|nmber|num|no|person|phone|persn|#",
    ),
    (
        "wrong number",
        Place::Anywhere, Language::En,
        "not|isn_t|isnt|is_not|no_longer my|his|her|their|the_same number|phone|cell",
    ),
    ("wrong number", Place::Whole, Language::En, "wrong|wrong_one|who_is_this_wrong"),
    // UNSUBSCRIBE misspelt, or said in passing ("I unsubscribed already"): conclusive word.
    (
        "unsubscribe",
        Place::Anywhere, Language::En,
        "unsub|unsubscibe|unsubcribe|unsubscrib|unsuscribe|unsubsribe|unsubscrbe|usubscribe|unsubsrcibe|unscubscribe|unsubscribed|unsubscriber|unsubscribing|unsbscribe|unsubsicribe|unsusbscribe",
    ),
    // Source: FCC 24-24. An FCC per-se word (stop, quit, end, revoke, opt out, cancel,
    // unsubscribe) asking to end
    // the messages: "can you end these messages", "please cancel these texts".
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "stop|quit|end|cancel|revoke|unsubscribe|cease|halt|discontinue|suspend these|the|your|ur|all|all_these|all_the|all_your|those|this|any|any_more|all_of_these|all_of_the|all_of_your|every|my|my_text|my_sms texts|txts|messages|msgs|text_messages|text_alerts|sms|alerts|notifications|promos|promotions|marketing_texts|marketing_messages|promo_texts",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "stop|quit|end|cancel|cease texts|txts|messages|msgs|text_messages|alerts|notifications to|for me|this_number|my_number|my_phone",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "quit|end|cancel|cease receiving|getting * texts|txts|messages|msgs|text_messages|alerts|these|them",
    ),
    (
        "i want to opt out",
        Place::Whole, Language::En,
        "i_want_to|i_wanna|i_need_to|i_d_like_to|id_like_to|i_would_like_to|we_want_to|i_want stop|quit|unsubscribe|opt_out|optout|cancel|end|stop_this|end_this|cancel_this|quit_this",
    ),
    (
        "revoke my consent",
        Place::Anywhere, Language::En,
        "revoke|revoking|withdraw|withdrawing|rescind|take_back * consent|permission|authorization",
    ),
    (
        "revoke my consent",
        Place::Anywhere, Language::En,
        "do_not|don_t|dont|no_longer|never consent|consented|agree|agreed to|with * texts|messages|these|this|them|being_texted",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "cancel|end|stop|quit my|the|your|this subscription to|for|of * texts|alerts|messages|sms|these|this|text|your",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "cease_and_desist|cease_desist",
    ),
    (
        "stop texting me",
        Place::Anywhere, Language::En,
        "done_with|sick_of|tired_of|enough_with|enough_of|fed_up_with these|the|your|all|all_these|all_the|all_your * texts|txts|messages|msgs|spam",
    ),
    (
        "don't text me anymore",
        Place::Anywhere, Language::En,
        "don_t|dont|do_not|never|stop send|send_me|send_us|sending|sending_me * texts|messages|msgs|promotions|promos|anything|more|stuff|alerts|spam",
    ),
    (
        "don't text me anymore",
        Place::Anywhere, Language::En,
        "no_longer|don_t|dont|do_not want|wish|need|wanna|want_to_receive|want_to_get|wish_to_receive * texts|txts|messages|msgs|text_messages|alerts|spam",
    ),
    (
        "take me off this list",
        Place::Anywhere, Language::En,
        "want|wanna|need|get_me off|out_of * list|texts|messages|this",
    ),
    (
        "wrong number",
        Place::Anywhere, Language::En,
        "this_is_my_new_number|this_is_a_new_number|i_just_got_this_number|i_got_this_number|new_owner_of_this_number|isn_t_me|is_not_me|not_me_you_want",
    ),
    (
        "leave me alone",
        Place::Anywhere, Language::En,
        "go_away|get_lost|lose_my_number|lose_this_number|forget_my_number",
    ),
    (
        "i want to opt out",
        Place::Anywhere, Language::En,
        "opt_out|optout|opting_out|unsubscribe|unsubscribing of|from * texts|messages|list|these|this|your|all|program|alerts|sms",
    ),
    (
        "i want to opt out",
        Place::Anywhere, Language::En,
        "unsubscribe|unsub|opt_out me|us|this_number|my_number",
    ),
    // Spanish (source: usage; the corpus's README lists the pages behind each tag).
    (
        "dejen de enviarme mensajes",
        Place::Anywhere, Language::Es,
        "deja|dejen|dejar|deje|dejes|paren|para|parar|pare|detengan|basta de enviarme|mandarme|escribirme|textearme|molestarme|enviarnos|mandarnos|escribirnos|molestar",
    ),
    (
        "dejen de enviarme mensajes",
        Place::Anywhere, Language::Es,
        "deja|dejen|dejar|deje|dejes|paren|para|parar|pare|detengan|basta de enviar|mandar|escribir|textear * mensajes|textos|sms|msj|mensajitos|promociones|ofertas",
    ),
    (
        "dejen de enviarme mensajes",
        Place::Anywhere, Language::Es,
        "no me|nos envien|manden|escriban|envies|mandes|vuelvan_a_enviar|vuelvan_a_mandar|vuelvan_a_escribir mas|nada|mensajes|textos|sms",
    ),
    (
        "dejen de enviarme mensajes",
        Place::Anywhere, Language::Es,
        "no me|nos escriban|contacten|molesten|llamen|textean|texteen|escribas|contactes|molestes",
    ),
    (
        "dejen de enviarme mensajes",
        Place::Anywhere, Language::Es,
        "retiro|revoco|retirar|revocar|retiramos mi|el|nuestro consentimiento|permiso|autorizacion",
    ),
    (
        "quitenme de su lista",
        Place::Anywhere, Language::Es,
        "eliminen|borren|quiten|eliminar|borrar|quitar|saquen mi_numero|mi_telefono|mis_datos|este_numero",
    ),
    (
        "dejen de enviarme mensajes",
        Place::Anywhere, Language::Es,
        "ya_no|no quiero|deseo|necesito recibir|mas * mensajes|textos|sms|msj|nada",
    ),
    (
        "quiero darme de baja",
        Place::Anywhere, Language::Es,
        "darme|dar|denme|deme|dame|darnos de baja",
    ),
    (
        "quiero darme de baja",
        Place::Anywhere, Language::Es,
        "quiero|quisiera|deseo|necesito desuscribirme|desuscribir|salirme|darme_de_baja|cancelar_la_suscripcion|cancelar_mi_suscripcion|cancelar_los_mensajes|salir_de_esta_lista|salir_de_la_lista|salir_de_su_lista|salir_de_sus_mensajes",
    ),
    (
        "quitenme de su lista",
        Place::Anywhere, Language::Es,
        "quitenme|quiteme|quitame|quitar|sacame|saquenme|saqueme|borrenme|borreme|borrame|eliminenme|elimineme|eliminame|eliminen_mi_numero|borren_mi_numero|quiten_mi_numero de|del * lista|listas|base|sistema|contactos",
    ),
    (
        "cancelen mi suscripcion",
        Place::Anywhere, Language::Es,
        "cancelen|cancelar|cancela|cancele|anulen|anular mi|la|los|las|esta|estos|estas suscripcion|suscripciones|mensajes|textos|alertas|sms",
    ),
    (
        "cancelen mi suscripcion",
        Place::Anywhere, Language::Es,
        "cancelen|cancelar|cancela|cancele|anulen|anular suscripcion|suscripciones|mensajes|textos|alertas",
    ),
    (
        "numero equivocado",
        Place::Anywhere, Language::Es,
        "numero|telefono equivocado|incorrecto|erroneo|equivocada",
    ),
    (
        "numero equivocado",
        Place::Anywhere, Language::Es,
        "equivocaron|equivocado|equivocada|equivocan de numero|persona",
    ),
    (
        "numero equivocado",
        Place::Anywhere, Language::Es,
        "este|ese no es mi|su numero|telefono",
    ),
    (
        "no mas mensajes",
        Place::Anywhere, Language::Es,
        "no_mas|nomas|ningun|ni_un mensaje|mensajes|texto|textos|sms|msj|mas",
    ),
    (
        "dejenme en paz",
        Place::Anywhere, Language::Es,
        "dejenme|dejame|dejeme|dejennos en paz",
    ),
    // French (source: usage).
    (
        "arretez de m'envoyer des messages",
        Place::Anywhere, Language::Fr,
        "arretez|arrete|arreter|arretes|cessez|cesse|cesser|stoppez|stop de|d m_envoyer|envoyer|m_ecrire|ecrire|me_texter|texter|m_texter|nous_envoyer|me_harceler|harceler|me_deranger|deranger|me_contacter|contacter|m_appeler|me_spammer",
    ),
    (
        "arretez de m'envoyer des messages",
        Place::Anywhere, Language::Fr,
        "arretez|arrete|arreter|cessez|stoppez|stop les|ces|vos|tes|tous_les|toutes_les messages|textos|sms|textes|notifications|alertes|envois",
    ),
    (
        "arretez de m'envoyer des messages",
        Place::Anywhere, Language::Fr,
        "ne|n m|me|nous envoyez|envoie|envoyez_plus|ecrivez|textez|contactez|appelez|derangez plus|pas|jamais|rien",
    ),
    (
        "arretez de m'envoyer des messages",
        Place::Anywhere, Language::Fr,
        "ne_plus|ne_pas|n_plus m_ecrire|m_envoyer|me_contacter|me_texter|me_deranger|me_relancer|ecrire|envoyer|contacter",
    ),
    (
        "arretez de m'envoyer des messages",
        Place::Anywhere, Language::Fr,
        "je|j|on veux|voudrais|souhaite plus|pas recevoir|de|vos|ces",
    ),
    (
        "arretez de m'envoyer des messages",
        Place::Anywhere, Language::Fr,
        "plus_jamais_de|fini_les|assez_de|stop_aux messages|textos|sms|pubs|publicites|notifications",
    ),
    (
        "je veux me desabonner",
        Place::Anywhere, Language::Fr,
        "retire|retirer|revoque|revoquer|je_retire mon|le|ma consentement|accord|autorisation|permission",
    ),
    (
        "laissez-moi tranquille",
        Place::Anywhere, Language::Fr,
        "lachez|lache|fichez|foutez moi|nous|moi_la_paix|nous_la_paix",
    ),
    (
        "je ne veux plus de messages",
        Place::Anywhere, Language::Fr,
        "je_ne|j_en_ne|on_ne veux|voudrais|souhaite|desire plus|pas * messages|textos|sms|textes|recevoir|ces|vos",
    ),
    (
        "je veux me desabonner",
        Place::Anywhere, Language::Fr,
        "me|nous desabonner|desinscrire|retirer|desabonne|desinscris|desinscrit",
    ),
    (
        "je veux me desabonner",
        Place::Anywhere, Language::Fr,
        "desabonnez|desinscrivez|retirez|enlevez|supprimez|effacez|rayez moi|nous|mon_numero|mon_nom",
    ),
    (
        "je veux me desabonner",
        Place::Anywhere, Language::Fr,
        "annulez|annuler|annule mon|l|ce|cet|les abonnement|inscription|messages|sms|textos|alertes",
    ),
    (
        "mauvais numero",
        Place::Anywhere, Language::Fr,
        "mauvais|faux numero|numeros|destinataire|personne",
    ),
    (
        "mauvais numero",
        Place::Anywhere, Language::Fr,
        "ce_n_est|ce_n|c_est_pas|ce_nest pas|est_pas mon|le_bon numero",
    ),
    (
        "plus de messages",
        Place::Whole, Language::Fr,
        "plus_de_messages|plus_de_textos|plus_de_sms|assez|plus_jamais|plus_jamais_de_messages|plus_jamais_de_textos|plus_jamais_de_sms",
    ),
    (
        "laissez-moi tranquille",
        Place::Anywhere, Language::Fr,
        "laissez|laisse|laissez_nous moi|nous|nous_en tranquille|tranquilles|en_paix",
    ),
];

/// Longest gap a `*` slot allows.
const GAP: usize = 3;
/// Words of a message read for phrases (a 10-part concatenated SMS is about 250).
const MAX_WORDS: usize = 1000;

/// A clear revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The matched row's canonical wording ("stop texting me", "wrong number" ...).
    pub phrase: &'static str,
    /// The language of that row.
    pub language: Language,
}

/// The canonical phrase when `text` holds a clear revocation phrase (not negated), in any
/// language.
pub fn revocation_phrase(text: &str) -> Option<Revocation> {
    let key = match_key(text);
    phrase_in_key(&key, true, Language::ALL)
}

/// [`revocation_phrase`] on a text already in [`match_key`] form, reading the rows of
/// `languages`. `whole_message` is false for a later part of a multipart SMS, where the
/// whole-message rows do not apply.
pub fn phrase_in_key(key: &str, whole_message: bool, languages: &[Language]) -> Option<Revocation> {
    if key.is_empty() {
        return None;
    }
    let padded = format!(" {key} ");
    if VOIDING.iter().any(|v| padded.contains(&format!(" {v} "))) {
        return None;
    }
    // Bounded work whatever the body: no SMS is anywhere near this many words.
    let words: Vec<&str> = key.split(' ').take(MAX_WORDS).collect();
    let polite_stripped: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !POLITE.contains(w))
        .collect();
    for (phrase, place, language, slots) in compiled() {
        if !languages.contains(language) {
            continue;
        }
        let found = match place {
            Place::Anywhere => (0..words.len()).any(|start| {
                !negated(&words, start, *language) && match_at(slots, &words[start..], false)
            }),
            Place::Whole => {
                whole_message
                    && !polite_stripped.is_empty()
                    && match_at(slots, &polite_stripped, true)
            }
        };
        if found {
            return Some(Revocation {
                phrase,
                language: *language,
            });
        }
    }
    None
}

/// The language of a canonical phrase (what [`Revocation::phrase`] holds).
pub fn phrase_language(phrase: &str) -> Option<Language> {
    PHRASES
        .iter()
        .find(|(p, _, _, _)| *p == phrase)
        .map(|(_, _, language, _)| *language)
}

/// [`PHRASES`] parsed once per process.
type Compiled = (&'static str, Place, Language, Vec<Slot<'static>>);

fn compiled() -> &'static [Compiled] {
    static COMPILED: std::sync::OnceLock<Vec<Compiled>> = std::sync::OnceLock::new();
    COMPILED.get_or_init(|| {
        PHRASES
            .iter()
            .map(|(phrase, place, language, pattern)| {
                (*phrase, *place, *language, parse_pattern(pattern))
            })
            .collect()
    })
}

enum Slot<'a> {
    /// Alternatives, each a sequence of words.
    Any(Vec<Vec<&'a str>>),
    /// 0..=GAP arbitrary words.
    Gap,
}

fn parse_pattern(pattern: &str) -> Vec<Slot<'_>> {
    pattern
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|slot| match slot {
            "*" => Slot::Gap,
            _ => Slot::Any(
                slot.split('|')
                    .map(|alt| alt.split('_').collect())
                    .collect(),
            ),
        })
        .collect()
}

/// Whether `slots` match at the start of `words` (and, when `whole`, use all of them).
fn match_at(slots: &[Slot<'_>], words: &[&str], whole: bool) -> bool {
    let Some((first, rest)) = slots.split_first() else {
        return !whole || words.is_empty();
    };
    match first {
        Slot::Gap => (0..=GAP.min(words.len())).any(|skip| match_at(rest, &words[skip..], whole)),
        Slot::Any(alternatives) => alternatives.iter().any(|alt| {
            words.len() >= alt.len()
                && words[..alt.len()] == alt[..]
                && match_at(rest, &words[alt.len()..], whole)
        }),
    }
}

fn negated(words: &[&str], start: usize, language: Language) -> bool {
    let negations = NEGATIONS
        .iter()
        .find(|(l, _)| *l == language)
        .map_or(&[][..], |(_, words)| *words);
    let from = start.saturating_sub(NEGATION_WINDOW);
    (from..start).any(|i| {
        let negation = negations.contains(&words[i])
            || (words[i] == "t" && i > 0 && NEGATED_AUX.contains(&words[i - 1]));
        negation
            && words[i + 1..start]
                .iter()
                .all(|w| NEGATION_BRIDGE.contains(w))
    })
}

/// The review cues in effect (match keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCues {
    cues: Vec<String>,
}

impl Default for ReviewCues {
    fn default() -> Self {
        Self::from_config("default")
    }
}

impl ReviewCues {
    /// `REVIEW_CUES`: comma-separated words or phrases, each normalised as messages are. The
    /// entry `default` stands for [`DEFAULT_REVIEW_CUES`] and the other languages' defaults (so
    /// `default, refund` adds a cue), and `none` alone turns the review tier off. Blank and
    /// repeated entries are ignored.
    pub fn from_config(value: &str) -> Self {
        Self::from_config_in(value, Language::ALL)
    }

    /// [`ReviewCues::from_config`], `default` standing for the defaults of `languages`.
    pub fn from_config_in(value: &str, languages: &[Language]) -> Self {
        let mut cues: Vec<String> = Vec::new();
        for entry in value.split(',') {
            if match_key(entry) == "default" {
                for (language, defaults) in [
                    (Language::En, DEFAULT_REVIEW_CUES),
                    (Language::Es, DEFAULT_REVIEW_CUES_ES),
                    (Language::Fr, DEFAULT_REVIEW_CUES_FR),
                ] {
                    if languages.contains(&language) {
                        defaults.split(',').for_each(|cue| push_cue(&mut cues, cue));
                    }
                }
            } else {
                push_cue(&mut cues, entry);
            }
        }
        Self { cues }
    }

    /// In configuration order.
    pub fn cues(&self) -> &[String] {
        &self.cues
    }

    /// The first cue (in configuration order) found in `text` as whole words.
    pub fn cue(&self, text: &str) -> Option<String> {
        self.cue_in_key(&match_key(text))
    }

    /// [`ReviewCues::cue`] on a text already in [`match_key`] form.
    pub fn cue_in_key(&self, key: &str) -> Option<String> {
        if key.is_empty() {
            return None;
        }
        let padded = format!(" {key} ");
        self.cues
            .iter()
            .find(|cue| padded.contains(&format!(" {cue} ")))
            .cloned()
    }
}

fn push_cue(cues: &mut Vec<String>, entry: &str) {
    let key = match_key(entry);
    if !key.is_empty() && key != "none" && !cues.contains(&key) {
        cues.push(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The phrase table: at least 60 rows of positives and negatives, each with the phrase it
    /// must report (or none).
    #[test]
    fn phrase_table() {
        let table: &[(&str, Option<&str>)] = &[
            // The wordings a reasonable person reads as "stop texting me".
            ("please stop texting me", Some("stop texting me")),
            (
                "Please don't text me anymore",
                Some("don't text me anymore"),
            ),
            ("don't text me anymore", Some("don't text me anymore")),
            ("No more texts", Some("no more texts")),
            ("remove me from your list", Some("remove me from your list")),
            ("Take me off this list", Some("take me off this list")),
            ("I want to opt out", Some("i want to opt out")),
            ("leave me alone", Some("leave me alone")),
            ("Wrong number", Some("wrong number")),
            // Variants.
            ("Can you please stop texting me?", Some("stop texting me")),
            ("Hi, stop messaging me thanks", Some("stop texting me")),
            ("quit texting me!!", Some("stop texting me")),
            (
                "please stop sending me these texts",
                Some("stop texting me"),
            ),
            ("Stop with the texts", Some("stop texting me")),
            ("pls stop the messages", Some("stop texting me")),
            (
                "I want to stop getting these texts",
                Some("stop texting me"),
            ),
            ("stop contacting this number", Some("stop texting me")),
            ("I said stop", Some("stop")),
            ("I told you to stop", Some("stop")),
            ("Please stop", Some("stop")),
            ("stop pls", Some("stop")),
            ("Please, STOP!", Some("stop")),
            ("Do not text me again", Some("don't text me anymore")),
            ("DO NOT CONTACT ME", Some("don't text me anymore")),
            (
                "never text this number again",
                Some("don't text me anymore"),
            ),
            ("I don't want these texts", Some("don't text me anymore")),
            (
                "I do not want any more messages",
                Some("don't text me anymore"),
            ),
            ("no more messages please", Some("no more texts")),
            ("No more of these texts", Some("no more texts")),
            ("no more!", Some("no more texts")),
            (
                "remove me from the mailing list",
                Some("remove me from your list"),
            ),
            ("Remove my number", Some("remove me from your list")),
            ("please remove me", Some("remove me from your list")),
            (
                "take my number off your list",
                Some("take me off this list"),
            ),
            ("get me off this list now", Some("take me off this list")),
            ("take me off", Some("take me off this list")),
            ("I would like to opt out", Some("i want to opt out")),
            ("I'd like to unsubscribe", Some("i want to opt out")),
            ("i wanna opt out", Some("i want to opt out")),
            ("please opt me out", Some("i want to opt out")),
            ("just leave me alone", Some("leave me alone")),
            ("you have the wrong number", Some("wrong number")),
            ("Sorry, wrong person", Some("wrong number")),
            ("this is not my number", Some("wrong number")),
            ("This number is no longer my number", Some("wrong number")),
            // Misspellings.
            ("stop txting me", Some("stop texting me")),
            ("plz stop texing me", Some("stop texting me")),
            ("dont txt me", Some("don't text me anymore")),
            ("no more txts", Some("no more texts")),
            ("remove me form your list", Some("remove me from your list")),
            ("remov me from ur list", Some("remove me from your list")),
            ("leave me alon", Some("leave me alone")),
            ("wrong numbr", Some("wrong number")),
            ("Unsubscibe", Some("unsubscribe")),
            (
                "I unsubscribed already, why am I getting this",
                Some("unsubscribe"),
            ),
            ("sotp", Some("stop")),
            ("Stopp", Some("stop")),
            (
                "ＰＬＥＡＳＥ ＳＴＯＰ ＴＥＸＴＩＮＧ ＭＥ",
                Some("stop texting me"),
            ),
            ("Stöp texting me", Some("stop texting me")),
            // Negatives: not revocations (a cue may still send them to review).
            ("don't stop", None),
            ("stop by later", None),
            ("can you remove the charge?", None),
            ("no more than 2 tickets", None),
            ("Please don't stop texting me", None),
            ("I don't want to opt out", None),
            ("I didn't say stop texting me", None),
            ("this is not the wrong number", None),
            ("don't remove me from the list", None),
            ("Remove the item from my cart", None),
            ("take me off hold", None),
            ("text me later", None),
            ("I love these texts", None),
            ("leave me a message", None),
            ("is this the right number?", None),
            ("wrong size, can I exchange it", None),
            ("no more room in the car", None),
            ("Stopwatch", None),
            ("remove", Some("remove me from your list")),
            ("what's my order number", None),
            ("HELP", None),
            ("START", None),
            ("", None),
            ("🛑", None),
        ];
        assert!(table.len() >= 60, "{}", table.len());
        for (text, want) in table {
            assert_eq!(
                revocation_phrase(text).map(|r| r.phrase),
                *want,
                "text {text:?}"
            );
        }
    }

    #[test]
    fn every_pattern_word_is_already_a_match_key() {
        for (phrase, _, _, pattern) in PHRASES {
            for slot in pattern.split(' ') {
                if slot == "*" {
                    continue;
                }
                for alt in slot.split('|') {
                    for word in alt.split('_') {
                        // '#' stands for itself: it is never a word, so that alternative never
                        // matches and documents the spelling only.
                        if word == "#" {
                            continue;
                        }
                        assert_eq!(match_key(word), word, "{phrase}: {word:?}");
                        assert!(!word.is_empty(), "{phrase}: empty word in {slot:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn cues_are_configurable_with_a_default() {
        let cues = ReviewCues::default();
        assert_eq!(cues.cue("don't stop").as_deref(), Some("stop"));
        assert_eq!(
            cues.cue("can you remove the charge?").as_deref(),
            Some("remove")
        );
        assert_eq!(
            cues.cue("no more than 2 tickets").as_deref(),
            Some("no more")
        );
        assert_eq!(cues.cue("This is SPAM"), Some("spam".into()));
        assert_eq!(cues.cue("Who is this?"), Some("who is this".into()));
        // Whole words only.
        assert_eq!(cues.cue("Stopwatch for sale"), None);
        assert_eq!(cues.cue("the weekend"), None);
        assert_eq!(cues.cue("Hi, what time is it?"), None);
        assert_eq!(cues.cue(""), None);

        let custom = ReviewCues::from_config(" Refund , default,,REFUND, lawsuit");
        assert_eq!(custom.cues()[0], "refund");
        assert_eq!(custom.cue("I want a refund").as_deref(), Some("refund"));
        assert_eq!(custom.cue("spam").as_deref(), Some("spam"));
        assert_eq!(
            custom.cues().iter().filter(|c| *c == "lawsuit").count(),
            1,
            "default already had it"
        );

        let only = ReviewCues::from_config("refund");
        assert_eq!(only.cue("stop"), None);
        let none = ReviewCues::from_config("none");
        assert!(none.cues().is_empty());
        assert_eq!(none.cue("stop spam"), None);
    }

    #[test]
    fn never_panics_on_arbitrary_text() {
        let alphabet: Vec<char> = "stopexmnrwgal' \t!.,-_*|#🛑é\u{301}ＳİßΣ\u{0}"
            .chars()
            .collect();
        let cues = ReviewCues::default();
        let mut rng = fastrand::Rng::with_seed(0x7e40);
        for i in 0..3000usize {
            let s: String = (0..i % 24)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let _ = revocation_phrase(&s);
            let _ = cues.cue(&s);
        }
        let long = "no ".repeat(2000);
        let _ = revocation_phrase(&long);
    }
}
