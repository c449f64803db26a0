CREATE TYPE book_status AS ENUM ('draft', 'published');

CREATE TABLE books (
    id serial PRIMARY KEY,
    title varchar(300) NOT NULL,
    author_id integer NOT NULL REFERENCES authors (id),
    price numeric(10, 2) NOT NULL,
    status book_status NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
