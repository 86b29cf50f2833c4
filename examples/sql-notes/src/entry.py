from workers import DurableObject, Response


class Notebook(DurableObject):
    """A notebook of tagged notes in the object's own SQLite database."""

    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.sql = ctx.storage.sql
        # The schema is created before any event runs.
        ctx.blockConcurrencyWhile(self.migrate)

    async def migrate(self):
        self.sql.exec(
            """
            CREATE TABLE IF NOT EXISTS notes (
                id INTEGER PRIMARY KEY,
                title TEXT NOT NULL CHECK (length(title) > 0),
                body TEXT,
                stars REAL DEFAULT 0
            );
            CREATE TABLE IF NOT EXISTS tags (
                note_id INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
                tag TEXT NOT NULL
            )
            """
        )

    def add(self, title, body, tags):
        def write():
            note_id = self.sql.exec(
                "INSERT INTO notes (title, body) VALUES (?, ?) RETURNING id", title, body
            ).one()["id"]
            for tag in tags:
                self.sql.exec("INSERT INTO tags (note_id, tag) VALUES (?, ?)", note_id, tag)
            return note_id

        # All or nothing: a failing tag insert undoes the note too.
        return self.ctx.storage.transactionSync(write)

    def star(self, note_id, stars):
        self.sql.exec("UPDATE notes SET stars = ? WHERE id = ?", stars, note_id)

    def tagged(self, tag):
        cursor = self.sql.exec(
            "SELECT notes.id, title, stars FROM notes JOIN tags ON tags.note_id = notes.id "
            "WHERE tag = ? ORDER BY notes.id",
            tag,
        )
        return cursor.toArray()

    def delete(self, note_id):
        return self.sql.exec("DELETE FROM notes WHERE id = ?", note_id).rowsWritten

    def stats(self):
        row = self.sql.exec("SELECT count(*) AS notes, avg(stars) AS stars FROM notes").one()
        return {"notes": row.notes, "stars": row.stars, "bytes": self.sql.databaseSize}

    async def fetch(self, request):
        return Response.json(self.stats())
