package phish

import (
	"strings"
	"testing"
)

func TestWording(t *testing.T) {
	tests := []struct {
		name, subject, text string
		want                bool
	}{
		// Phishing, in four languages.
		{"english", "Your account has been suspended",
			"Dear customer, we detected unusual activity. To restore access, click here and verify your account information within 24 hours.", true},
		{"english, password", "Mailbox quota",
			"Your mailbox will be deleted. Log in with your password immediately to keep it.", true},
		{"german", "Ihr Konto wurde gesperrt",
			"Sehr geehrter Kunde, bitte bestätigen Sie Ihre Zugangsdaten innerhalb von 24 Stunden, sonst wird Ihr Konto gelöscht.", true},
		{"french", "Votre compte est suspendu",
			"Cliquez ici pour confirmer votre mot de passe immédiatement.", true},
		{"spanish", "Aviso",
			"Su cuenta ha sido bloqueada. Haga clic aquí para verificar su contraseña en 24 horas.", true},
		{"upper case and odd spacing", "URGENT",
			"PLEASE   VERIFY\nYOUR\tPASSWORD", true},
		// Ordinary mail: any one or two of the three is not enough.
		{"password talk", "wifi",
			"The new wifi password is on the whiteboard; the old one expired yesterday.", false},
		{"forgot password", "help",
			"I forgot my password again, can you reset it when you have a minute?", false},
		{"urgent meeting", "Urgent: meeting moved",
			"The meeting is moved to 3pm, please confirm you can make it.", false},
		{"signup", "Welcome",
			"Thanks for signing up. Click here to confirm your email address.", false},
		{"order", "Your order", "Your order has shipped and will arrive within 48 hours.", false},
		{"far apart", "Newsletter",
			"Please verify the figures in the attached report. " + strings.Repeat("Quarterly results were good and the team grew. ", 20) +
				"Our office will be closed on Monday. " + strings.Repeat("Lunch is on Friday as usual this week. ", 20) +
				"Remember to choose a strong password.", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := Wording(tt.subject, tt.text)
			if got := len(fs) > 0; got != tt.want {
				t.Fatalf("Wording = %v, want finding %v", fs, tt.want)
			}
			if tt.want {
				check(t, fs, NameCredentialHarvest)
			}
		})
	}
}

func TestWordingBounded(t *testing.T) {
	// The phrases after MaxWordingText are not read.
	text := strings.Repeat("lorem ipsum ", MaxWordingText/12+1) + "verify your password immediately"
	if fs := Wording("", text); fs != nil {
		t.Fatalf("found %v past the bound", fs)
	}
}
