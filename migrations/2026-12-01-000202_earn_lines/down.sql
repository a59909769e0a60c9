DROP TABLE earn_lines;
