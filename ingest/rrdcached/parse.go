package rrdcached

import "strings"

// Command is one parsed request line.
type Command struct {
	Name string   // as sent (commands are matched without regard to case)
	Args []string // the fields after the name
}

// ParseCommand splits a request line into fields as rrdcached does: fields
// are separated by single spaces (two spaces make an empty field), a
// backslash takes the next byte literally (so "\ " is a space inside a
// field), a trailing space makes an empty last field, and a trailing "\r"
// is dropped. A line ending in a lone backslash is a syntax error,
// reported through ok.
func ParseCommand(line string) (cmd Command, ok bool) {
	line = strings.TrimSuffix(line, "\r")
	var fields []string
	var b strings.Builder
	escaped := strings.IndexByte(line, '\\') >= 0
	start := 0
	for i := 0; i <= len(line); i++ {
		if i == len(line) || line[i] == ' ' {
			if escaped {
				fields = append(fields, b.String())
				b.Reset()
			} else {
				fields = append(fields, line[start:i])
			}
			start = i + 1
			continue
		}
		if escaped {
			if line[i] == '\\' {
				if i+1 >= len(line) {
					return Command{}, false
				}
				i++
			}
			b.WriteByte(line[i])
		}
	}
	return Command{Name: fields[0], Args: fields[1:]}, true
}
