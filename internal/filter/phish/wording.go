package phish

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Wording looks at the words: a request for credentials or account data,
// a call to act on it, and a threat or deadline, all three within a few
// lines of each other (wordWindow), in English, German, French or
// Spanish. Single words do not count: mail about passwords, about
// accounts or about deadlines is ordinary; phishing needs all three.
func Wording(subject, text string) []Finding {
	if len(text) > MaxWordingText {
		text = text[:MaxWordingText]
	}
	m := newWordMatcher()
	m.feed(subject)
	m.feed(".") // the subject's last word is not the body's first
	m.feed(text)
	if !m.fired {
		return nil
	}
	return []Finding{{NameCredentialHarvest, 3, fmt.Sprintf("the message asks for %q, says %q, and presses with %q",
		m.last[groupCredential], m.last[groupAction], m.last[groupUrgency])}}
}

// MaxWordingText bounds the body text read by Wording: phishing is short,
// and what it says it says first.
const MaxWordingText = 64 << 10

// wordWindow is how many words may separate the three kinds of phrase.
const wordWindow = 60

type group int

const (
	groupCredential group = iota // what is asked for
	groupAction                  // what to do
	groupUrgency                 // or else
	groups
)

// phrases, accent-free and lower-case as the tokenizer leaves words.
var phraseText = [groups][]string{
	groupCredential: {
		// English
		"password", "passwords", "passcode", "pin number", "username", "user name", "user id",
		"login details", "login information", "login credentials", "credentials", "account information",
		"account details", "account info", "billing information", "billing details", "payment information",
		"payment details", "card number", "credit card", "debit card", "cvv", "security questions",
		"social security number", "online banking", "your identity", "personal information",
		"email account", "mailbox", "webmail", "your account", "account access", "your information",
		"account verification", "security measures", "online account",
		// German
		"passwort", "kennwort", "zugangsdaten", "anmeldedaten", "kontodaten", "kontoinformationen",
		"benutzername", "kreditkarte", "kartennummer", "kreditkartendaten", "online banking",
		"ihre identitat", "personliche daten", "ihre daten", "ihr konto", "ihres kontos", "postfach",
		// French
		"mot de passe", "identifiant", "identifiants", "coordonnees bancaires", "carte bancaire",
		"numero de carte", "informations de connexion", "donnees personnelles", "votre identite",
		"votre compte", "informations personnelles", "boite mail", "messagerie",
		// Spanish
		"contrasena", "clave de acceso", "nombre de usuario", "datos de acceso", "datos bancarios",
		"tarjeta de credito", "numero de tarjeta", "credenciales", "su identidad", "datos personales",
		"su cuenta", "tu cuenta", "buzon",
	},
	groupAction: {
		"verify", "verifying", "confirm your", "update your", "validate", "reactivate", "restore",
		"unlock", "reconfirm", "re enter", "click here", "click below", "click the link",
		"click on the link", "follow the link", "log in", "login to", "sign in", "resubmit",
		"update", "renew", "clicking here", "clicking on the link", "activate", "reactivation",
		"bestatigen", "verifizieren", "aktualisieren", "klicken sie", "melden sie sich", "folgen sie dem link",
		"entsperren", "reaktivieren",
		"confirmer", "verifier", "mettre a jour", "cliquez", "connectez vous", "reactiver", "debloquer",
		"valider",
		"confirmar", "verificar", "actualizar", "haga clic", "haz clic", "pulse aqui", "inicie sesion",
		"reactivar", "desbloquear", "validar",
	},
	groupUrgency: {
		"suspended", "suspend", "suspension", "locked", "limited", "restricted", "disabled",
		"deactivated", "terminated", "unusual activity", "suspicious activity", "unauthorized",
		"unauthorised", "within 24 hours", "within 48 hours", "within 72 hours", "within 24hrs",
		"immediately", "urgent", "urgently", "as soon as possible", "will be closed", "will be deleted",
		"permanently", "failure to", "expire", "expires", "expired", "final notice", "last warning",
		"flagged", "compromised", "fraudulent", "unable to verify", "unable to process", "past due",
		"interrupted", "security reasons", "temporarily", "verification required", "has been frozen",
		"on hold",
		"gesperrt", "sperrung", "eingeschrankt", "deaktiviert", "innerhalb von 24 stunden",
		"innerhalb von 48 stunden", "sofort", "umgehend", "dringend", "ungewohnliche aktivitat",
		"verdachtige aktivitat", "unbefugt", "lauft ab", "geloscht", "letzte mahnung",
		"suspendu", "suspendue", "bloque", "bloquee", "restreint", "desactive", "dans les 24 heures",
		"sous 24 heures", "sous 48 heures", "immediatement", "activite inhabituelle", "activite suspecte",
		"supprime", "definitivement",
		"suspendida", "suspendido", "bloqueada", "bloqueado", "restringida", "desactivada",
		"en 24 horas", "dentro de 24 horas", "inmediatamente", "urgente", "actividad inusual",
		"actividad sospechosa", "caducara", "expirara", "eliminada", "cancelada", "no autorizado",
	},
}

type phrase struct {
	words []int // word numbers in vocabulary
	text  string
	group group
}

// phraseTable holds the phrases by the number of their first word, and
// the vocabulary: every word of every phrase, numbered from 1. Words
// outside it are 0, so reading text allocates nothing per word.
type phraseTable struct {
	vocab map[string]int
	first [][]phrase // by word number
}

var phrases = sync.OnceValue(func() *phraseTable {
	pt := &phraseTable{vocab: map[string]int{}}
	id := func(w string) int {
		n, ok := pt.vocab[w]
		if !ok {
			n = len(pt.vocab) + 1
			pt.vocab[w] = n
		}
		return n
	}
	var all []phrase
	for g, list := range phraseText {
		for _, text := range list {
			p := phrase{text: text, group: group(g)}
			for _, w := range strings.Fields(text) {
				p.words = append(p.words, id(w))
			}
			all = append(all, p)
		}
	}
	pt.first = make([][]phrase, len(pt.vocab)+1)
	for _, p := range all {
		pt.first[p.words[0]] = append(pt.first[p.words[0]], p)
	}
	return pt
})

// maxPhrase is the longest phrase in words.
const maxPhrase = 5

// wordMatcher reads words one by one and keeps, per group, the position
// of its latest phrase.
type wordMatcher struct {
	table  *phraseTable
	recent [maxPhrase]int // the last words' numbers, recent[n%maxPhrase] is word n
	n      int            // words read
	pos    [groups]int    // word number of the latest phrase per group, -1 none
	last   [groups]string
	fired  bool
	word   []byte
}

func newWordMatcher() *wordMatcher {
	m := &wordMatcher{table: phrases(), word: make([]byte, 0, 64)}
	for i := range m.pos {
		m.pos[i] = -1
	}
	return m
}

// feed tokenizes s: letters and digits, folded to lower case without
// accents; everything else separates words.
func (m *wordMatcher) feed(s string) {
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		switch {
		case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			m.word = append(m.word, byte(r))
		case 'A' <= r && r <= 'Z':
			m.word = append(m.word, byte(r+'a'-'A'))
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)):
			m.word = appendFolded(m.word, r)
		default:
			m.endWord()
		}
	}
	m.endWord()
}

func (m *wordMatcher) endWord() {
	if len(m.word) == 0 {
		return
	}
	w := m.table.vocab[string(m.word)] // no allocation for the lookup
	m.word = m.word[:0]
	m.recent[m.n%maxPhrase] = w
	m.n++
	if w == 0 {
		return // no phrase ends with a word outside the vocabulary
	}
	// Phrases ending at this word: try each start within maxPhrase words.
	for back := 1; back <= maxPhrase && back <= m.n; back++ {
		first := m.recent[(m.n-back)%maxPhrase]
		if first == 0 {
			continue
		}
		for _, p := range m.table.first[first] {
			if len(p.words) == back && m.matches(p) {
				m.hit(p)
			}
		}
	}
}

func (m *wordMatcher) matches(p phrase) bool {
	start := m.n - len(p.words)
	for j, w := range p.words {
		if m.recent[(start+j)%maxPhrase] != w {
			return false
		}
	}
	return true
}

func (m *wordMatcher) hit(p phrase) {
	m.pos[p.group] = m.n
	m.last[p.group] = p.text
	lo, hi := m.n, m.n
	for _, at := range m.pos {
		if at < 0 {
			return
		}
		lo, hi = min(lo, at), max(hi, at)
	}
	if hi-lo <= wordWindow {
		m.fired = true
	}
}

// appendFolded appends r lower-cased with its accents dropped
// ("ä" → "a", "ñ" → "n", "ß" → "ss"); marks alone are dropped.
func appendFolded(b []byte, r rune) []byte {
	if r == 'ß' || r == 'ẞ' {
		return append(b, "ss"...)
	}
	if unicode.Is(unicode.Mn, r) {
		return b
	}
	r = unicode.ToLower(r)
	if r < 0x250 {
		var buf [utf8.UTFMax]byte
		d := norm.NFD.Bytes(buf[:utf8.EncodeRune(buf[:], r)])
		base, _ := utf8.DecodeRune(d)
		return utf8.AppendRune(b, base)
	}
	return utf8.AppendRune(b, r)
}
