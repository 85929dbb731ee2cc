-- A username is one name in any case: `Ana` and `ana` cannot both exist.
-- Should an earlier version have let both in, the later one is renamed
-- `name~<end of its id>` (a character usernames cannot hold), so the index can be built.
UPDATE users SET username = username || '~' || substr(id, -6)
 WHERE EXISTS (SELECT 1 FROM users o
                WHERE lower(o.username) = lower(users.username)
                  AND (o.created_at, o.id) < (users.created_at, users.id));
CREATE UNIQUE INDEX users_username_any_case ON users (lower(username));
