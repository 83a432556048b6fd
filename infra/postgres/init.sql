-- Each service owns its database; the read models live apart (docker-compose bootstrap).
CREATE DATABASE readmodel OWNER zugong;
CREATE DATABASE governance OWNER zugong;
