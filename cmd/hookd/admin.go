package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/hookd/hookd/internal/app"
	"github.com/hookd/hookd/internal/auth"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/jsonobj"
	"github.com/hookd/hookd/internal/store"
)

// adminCommand parses the shared store flags plus the command's own, opens
// the store and runs fn with it. The store must exist (a command run in the
// wrong directory must not quietly start an empty one), unless --init asks
// for a new one.
func adminCommand(ctx context.Context, name, synopsis string, args []string, stderr io.Writer,
	define func(fs *flag.FlagSet), fn func(cfg *config.Config, st store.Store) error) error {
	fs, cfg, create := adminFlags(name, synopsis, stderr)
	define(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	open := app.OpenStore
	if *create {
		open = app.CreateStore
	}
	st, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}

// adminFlags makes the flag set of an administration command: the store and
// key flags, --init, and a usage text that starts with the synopsis.
func adminFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *config.Config, *bool) {
	fs := flag.NewFlagSet("hookd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, false)
	create := fs.Bool("init", false, "create a new, empty store in --data-dir when it has none (embedded store)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: hookd %s %s [flags]\n\n%s\n\nFlags:\n", name, synopsis, storeNote)
		fs.PrintDefaults()
	}
	return fs, cfg, create
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func requireUUID(flagName, v string) (uuid.UUID, error) {
	if v == "" {
		return uuid.Nil, fmt.Errorf("%w: --%s is required", errUsage, flagName)
	}
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		return uuid.Nil, fmt.Errorf("%w: --%s must be a UUID", errUsage, flagName)
	}
	return id, nil
}

func teamCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var name string
	return adminCommand(ctx, "team create", teamCreateSynopsis, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "display name of the team (1–255 characters)")
	}, func(_ *config.Config, st store.Store) error {
		if err := jsonobj.CheckName("--name", name, 255); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		if err := st.CreateTeam(ctx, store.Team{ID: id, DisplayName: name, CreatedAt: now()}); err != nil {
			return err
		}
		return printJSON(stdout, struct {
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
		}{id.String(), name})
	})
}

func memberAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var team, user, role string
	return adminCommand(ctx, "member add", memberAddSynopsis, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&team, "team", "", "team id")
		fs.StringVar(&user, "user", "", "user id (the JWT sub claim)")
		fs.StringVar(&role, "role", "", "owner, admin, member or viewer")
	}, func(_ *config.Config, st store.Store) error {
		teamID, err := requireUUID("team", team)
		if err != nil {
			return err
		}
		userID, err := requireUUID("user", user)
		if err != nil {
			return err
		}
		if _, ok := auth.ParseRole(role); !ok {
			return fmt.Errorf("%w: --role must be owner, admin, member or viewer", errUsage)
		}
		err = st.PutMember(ctx, store.Member{TeamID: teamID, UserID: userID, Role: role, CreatedAt: now()})
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no team %s", teamID)
		}
		if err != nil {
			return err
		}
		return printJSON(stdout, struct {
			TeamID string `json:"team_id"`
			UserID string `json:"user_id"`
			Role   string `json:"role"`
		}{teamID.String(), userID.String(), role})
	})
}

func credentialCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var team, kind, user, name string
	var days int
	return adminCommand(ctx, "credential create", credentialCreateSynopsis, args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&team, "team", "", "team id")
		fs.StringVar(&kind, "kind", "", "integration (sk-) or device (dk-)")
		fs.StringVar(&user, "user", "", "user id (required for device keys)")
		fs.StringVar(&name, "name", "", "display name (1–100 characters)")
		fs.IntVar(&days, "expires-in-days", 0, "expiry in days (1–365; default: none)")
	}, func(_ *config.Config, st store.Store) error {
		teamID, err := requireUUID("team", team)
		if err != nil {
			return err
		}
		if kind != store.KindIntegration && kind != store.KindDevice {
			return fmt.Errorf("%w: --kind must be integration or device", errUsage)
		}
		if err := jsonobj.CheckName("--name", name, 100); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if days < 0 || days > 365 {
			return fmt.Errorf("%w: --expires-in-days must be from 1 to 365", errUsage)
		}
		if _, err := st.GetTeam(ctx, teamID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no team %s", teamID)
			}
			return err
		}
		userID := uuid.Nil
		if kind == store.KindDevice || user != "" {
			if userID, err = requireUUID("user", user); err != nil {
				return err
			}
		}
		if kind == store.KindDevice {
			// A device key acts as its user: it is useless for a non-member.
			if _, err := st.GetMember(ctx, teamID, userID); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("user %s is not a member of team %s (hookd member add first)", userID, teamID)
			} else if err != nil {
				return err
			}
		}
		cred, raw, err := auth.NewCredential(teamID, userID, kind, name, now(), days)
		if err != nil {
			return err
		}
		if err := st.CreateCredential(ctx, cred); err != nil {
			return err
		}
		return printJSON(stdout, struct {
			ID        string `json:"id"`
			Kind      string `json:"kind"`
			KeyPrefix string `json:"key_prefix"`
			RawKey    string `json:"raw_key"`
		}{cred.ID.String(), kind, cred.KeyPrefix, raw})
	})
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, create := adminFlags("token", tokenSynopsis, stderr)
	var user string
	var ttl time.Duration
	fs.StringVar(&user, "user", "", "user id (the sub claim)")
	fs.DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(false); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	userID, err := requireUUID("user", user)
	if err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: --ttl must be positive", errUsage)
	}
	// Without --jwt-secret the token is signed with the store's generated
	// secret, which exists only beside a store: --init makes both.
	if *create && cfg.JWTSecret == "" && cfg.JWKSURL == "" {
		st, err := app.CreateStore(ctx, cfg)
		if err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
	}
	secret, err := app.LoadJWTSecret(cfg)
	if err != nil {
		return err
	}
	if secret == nil {
		return errors.New("HS256 tokens are off: --jwks-url is set without --jwt-secret")
	}
	tok, err := auth.MintHS256(secret, userID, ttl, cfg.JWTIssuer, cfg.JWTAudience, time.Now())
	if err != nil {
		return err
	}
	return printJSON(stdout, struct {
		Token string `json:"token"`
	}{tok})
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
