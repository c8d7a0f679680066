package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
)

// Secret is one secret as templates see it (.Key, .Value, ...), as the agent's functions return it.
type Secret struct {
	Key         string
	WorkspaceId string
	Value       string
	SecretPath  string
	Type        string
	ID          string
	Comment     string
}

type storedSecret struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Type    string `json:"type"`
	ID      string `json:"id"`
	Comment string `json:"comment"`
}

// world is the corpus's fake backend (tests/fixtures/gotemplate/world.json):
// secrets: project id -> env -> folder -> secrets;
// dynamicSecrets: project slug -> env -> folder -> name -> credentials.
type world struct {
	Secrets        map[string]map[string]map[string][]storedSecret                    `json:"secrets"`
	DynamicSecrets map[string]map[string]map[string]map[string]map[string]interface{} `json:"dynamicSecrets"`

	// Answers already computed, by function and arguments. The agent renders from a snapshot of
	// fetched answers, and so does the kms-agent side of the benchmark: memoising here keeps the
	// fake backend's cost out of both figures.
	memo map[string]interface{}
}

func loadWorld(file string) (*world, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	w := &world{memo: map[string]interface{}{}}
	if err := dec.Decode(w); err != nil {
		return nil, fmt.Errorf("world file %s: %v", file, err)
	}
	return w, nil
}

func (w *world) funcs() template.FuncMap {
	return template.FuncMap{
		"secret":          w.secret,
		"getSecretByName": w.getSecretByName,
		"dynamic_secret":  w.dynamicSecret,
	}
}

// recall returns the memoised answer for key, computing it once.
func (w *world) recall(key string, compute func() (interface{}, error)) (interface{}, error) {
	if v, ok := w.memo[key]; ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v, nil
	}
	v, err := compute()
	if err != nil {
		w.memo[key] = err
		return nil, err
	}
	w.memo[key] = v
	return v, nil
}

func (w *world) folders(project, env string) (map[string][]storedSecret, error) {
	envs, ok := w.Secrets[project]
	if !ok {
		return nil, fmt.Errorf("project %q not found", project)
	}
	folders, ok := envs[env]
	if !ok {
		return nil, fmt.Errorf("environment %q not found in project %q", env, project)
	}
	return folders, nil
}

func visible(project, folder string, s storedSecret) Secret {
	typ := s.Type
	if typ == "" {
		typ = "shared"
	}
	return Secret{Key: s.Key, WorkspaceId: project, Value: s.Value, SecretPath: folder, Type: typ, ID: s.ID, Comment: s.Comment}
}

// secretOptions is the optional JSON modifier of `secret`, decoded by encoding/json as the agent
// decodes it (keys match case-insensitively, null is accepted).
type secretOptions struct {
	Recursive              bool  `json:"recursive"`
	ExpandSecretReferences *bool `json:"expandSecretReferences,omitempty"`
}

// secret: `secret PROJECT ENV PATH [OPTIONS_JSON]`, the folder's secrets (and with recursive,
// its sub-folders'), sorted by (SecretPath, Key). Arguments after the first option are ignored.
func (w *world) secret(project, env, path string, args ...string) ([]Secret, error) {
	opts := ""
	if len(args) > 0 {
		opts = args[0]
	}
	v, err := w.recall(strings.Join([]string{"secret", project, env, path, opts}, "\x00"), func() (interface{}, error) {
		var parsed secretOptions
		if len(args) > 0 {
			if err := json.Unmarshal([]byte(args[0]), &parsed); err != nil {
				return nil, err
			}
		}
		folders, err := w.folders(project, env)
		if err != nil {
			return nil, err
		}
		if _, ok := folders[path]; !ok {
			return nil, fmt.Errorf("folder %q not found in %s/%s", path, project, env)
		}
		prefix := path + "/"
		if path == "/" {
			prefix = "/"
		}
		list := []Secret{}
		for folder, stored := range folders {
			if folder != path && !(parsed.Recursive && strings.HasPrefix(folder, prefix)) {
				continue
			}
			for _, s := range stored {
				list = append(list, visible(project, folder, s))
			}
		}
		sort.SliceStable(list, func(i, j int) bool {
			if list[i].SecretPath != list[j].SecretPath {
				return list[i].SecretPath < list[j].SecretPath
			}
			return list[i].Key < list[j].Key
		})
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]Secret), nil
}

// getSecretByName: `getSecretByName PROJECT ENV PATH NAME`; a missing secret is an error.
func (w *world) getSecretByName(project, env, path, name string) (Secret, error) {
	v, err := w.recall(strings.Join([]string{"get", project, env, path, name}, "\x00"), func() (interface{}, error) {
		folders, err := w.folders(project, env)
		if err != nil {
			return nil, err
		}
		stored, ok := folders[path]
		if !ok {
			return nil, fmt.Errorf("folder %q not found in %s/%s", path, project, env)
		}
		for _, s := range stored {
			if s.Key == name {
				return visible(project, path, s), nil
			}
		}
		return nil, fmt.Errorf("secret %q not found in %s/%s%s", name, project, env, path)
	})
	if err != nil {
		return Secret{}, err
	}
	return v.(Secret), nil
}

// dynamicSecret: `dynamic_secret SLUG ENV PATH NAME [TTL]`, the lease's credentials. Templates
// cannot modify a map, so the memoised map is shared between calls.
func (w *world) dynamicSecret(args ...string) (map[string]interface{}, error) {
	if len(args) != 4 && len(args) != 5 {
		return nil, fmt.Errorf("invalid arguments found for dynamic-secret function: want 4 or 5, got %d", len(args))
	}
	// The TTL (args[4]) does not change the answer.
	v, err := w.recall(strings.Join(append([]string{"dynamic"}, args[:4]...), "\x00"), func() (interface{}, error) {
		creds, ok := w.DynamicSecrets[args[0]][args[1]][args[2]][args[3]]
		if !ok {
			return nil, fmt.Errorf("dynamic secret %q not found in %s/%s%s", args[3], args[0], args[1], args[2])
		}
		return creds, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]interface{}), nil
}
