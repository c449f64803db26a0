CREATE TABLE authors (
    id serial PRIMARY KEY,
    name varchar(200) NOT NULL,
    bio varchar
);
