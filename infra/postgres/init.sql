-- Each service owns its database; the read models live apart (docker-compose bootstrap).
CREATE DATABASE readmodel OWNER zugong;
CREATE DATABASE talent OWNER zugong;
CREATE DATABASE training OWNER zugong;
CREATE DATABASE governance OWNER zugong;
